import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MailFacts, type MailKind, valuesOf } from "../../src/mail/templates/kinds";
import { languageRanges, pickLanguage } from "../../src/mail/templates/language";
import { compile, escapeHtml, render } from "../../src/mail/templates/syntax";
import { builtInTemplates, compileTemplates } from "../../src/mail/templates/template-set";
import { loadMailTemplates } from "../../src/node/mail-templates";
import { spawnNodeServer } from "../support/node-server";
import { freePort } from "../support/processes";

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "mail-templates-"));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

let dirs = 0;
/** A template directory holding `files` (path under it → text). */
async function templateDir(files: Record<string, string>) {
  const dir = join(scratch, `dir${++dirs}`);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

const renderAll = (
  kind: MailKind,
  facts: MailFacts,
  language = "en",
  templates = builtInTemplates,
) => {
  const message = templates.message(kind, language);
  const values = valuesOf(facts);
  return {
    subject: render(message.subject, values),
    text: render(message.text, values),
    html: render(message.html, values, escapeHtml),
  };
};

describe("the built-in English messages", () => {
  const facts = {
    username: "ana",
    link: "https://app.example/x?a=1&token=T",
    ttlSeconds: 1800,
    newEmail: "new@example.com",
  };
  // The wording from before templates, character for character.
  it("password_reset", () => {
    expect(renderAll("password_reset", facts)).toEqual({
      subject: "Reset your password",
      text: "Hello ana,\n\nSomeone asked to reset the password of your account. To choose a new password, open:\nhttps://app.example/x?a=1&token=T\n\nThe link works once and expires in 30 minutes. If you did not ask for it, ignore this email.",
      html: '<p>Hello ana,</p><p>Someone asked to reset the password of your account. To choose a new password, open <a href="https://app.example/x?a=1&#38;token=T">this link</a>.</p><p>The link works once and expires in 30 minutes. If you did not ask for it, ignore this email.</p>',
    });
  });
  it("email_verification", () => {
    expect(renderAll("email_verification", { ...facts, ttlSeconds: 86400 })).toEqual({
      subject: "Confirm your email address",
      text: "Hello ana,\n\nTo confirm that this address is yours, open:\nhttps://app.example/x?a=1&token=T\n\nThe link works once and expires in 24 hours. If you did not create an account, ignore this email.",
      html: '<p>Hello ana,</p><p>To confirm that this address is yours, open <a href="https://app.example/x?a=1&#38;token=T">this link</a>.</p><p>The link works once and expires in 24 hours. If you did not create an account, ignore this email.</p>',
    });
  });
  it("email_change_confirmation", () => {
    expect(renderAll("email_change_confirmation", { ...facts, ttlSeconds: 60 })).toEqual({
      subject: "Confirm your new email address",
      text: "Hello ana,\n\nSomeone asked to use this address for your account. To confirm the change, open:\nhttps://app.example/x?a=1&token=T\n\nThe link works once and expires in 1 minute. Nothing changes until it is used.",
      html: '<p>Hello ana,</p><p>Someone asked to use this address for your account. To confirm the change, open <a href="https://app.example/x?a=1&#38;token=T">this link</a>.</p><p>The link works once and expires in 1 minute. Nothing changes until it is used.</p>',
    });
  });
  it("email_change_notice (no link)", () => {
    expect(renderAll("email_change_notice", facts)).toEqual({
      subject: "Your email address is being changed",
      text: "Hello ana,\n\nSomeone asked to change the email address of your account to new@example.com.\nNothing changes until the new address confirms. If this was not you, change your password.",
      html: "<p>Hello ana,</p><p>Someone asked to change the email address of your account to new@example.com.</p><p>Nothing changes until the new address confirms. If this was not you, change your password.</p>",
    });
  });
});

describe("the template syntax", () => {
  it("escapes every value in the HTML part and none in the text part or subject", async () => {
    const templates = compileTemplates({
      "en/password_reset.subject.txt": "Hi {{first_name}}\n",
      "en/password_reset.txt": "Hi {{first_name}} {{ last_name }}",
      "en/password_reset.html": '<p title="{{last_name}}">Hi {{first_name}}</p>',
    });
    const mail = renderAll(
      "password_reset",
      { username: "u", firstName: "<script>alert(1)</script>", lastName: `"O'Brien" & Co` },
      "en",
      templates,
    );
    expect(mail.subject).toBe("Hi <script>alert(1)</script>");
    expect(mail.text).toBe(`Hi <script>alert(1)</script> "O'Brien" & Co`);
    expect(mail.html).toBe(
      '<p title="&#34;O&#39;Brien&#34; &#38; Co">Hi &#60;script&#62;alert(1)&#60;/script&#62;</p>',
    );
  });

  it("evaluates nothing: a value that looks like a variable stays text", () => {
    const template = compile("{{username}}", ["username", "link"], "t");
    expect(render(template, { username: "{{link}}", link: "secret" })).toBe("{{link}}");
  });

  it.each([
    [
      "an unknown variable",
      "Hello {{usernme}}",
      /t\.txt, line 1: unknown variable \{\{usernme\}\}; this message knows \{\{username\}\}/,
    ],
    [
      "an expression",
      "{{ username.toUpperCase() }}",
      /unknown variable \{\{username\.toUpperCase\(\)\}\}/,
    ],
    ["a {{ never closed", "a\nb {{username", /t\.txt, line 2: a \{\{ without its \}\}/],
    [
      "triple braces",
      "{{{username}}}",
      /t\.txt, line 1: \{\{\{\.\.\.\}\}\}: there is no raw output/,
    ],
    ["a stray }}", "x }} y", /a \}\} without its \{\{/],
  ])("refuses %s, naming the file and line", (_case, source, message) => {
    expect(() => compile(source, ["username"], "t.txt")).toThrow(message);
  });
});

describe("choosing the language", () => {
  const present = new Set(["en", "de", "pt-br"]);
  it.each([
    [null, "de-CH, en;q=0.5", "de"],
    [null, "pt-BR", "pt-br"],
    [null, "pt", "en"],
    [null, "fr;q=0.9, de;q=0.8, en;q=0.1", "de"],
    [null, "en;q=0.2, de", "de"],
    [null, "de;q=0, fr", "en"],
    [null, "de;q=nonsense, pt-br;q=0.4", "pt-br"],
    [null, "*", "en"],
    [null, undefined, "en"],
    ["pt-BR", "de", "pt-br"],
    ["fr", "de", "de"],
    ["", "de", "de"],
  ])("account %s, Accept-Language %s: %s", (account, header, expected) => {
    expect(pickLanguage(present, account, header)).toBe(expected);
  });

  it("reads at most 20 ranges of a header", () => {
    expect(languageRanges(Array(100).fill("fr").concat("de").join(","))).toHaveLength(20);
  });
});

describe("MAIL_TEMPLATES_DIR", () => {
  const complete = (language: string, kind = "password_reset") => ({
    [`${language}/${kind}.subject.txt`]: "S {{username}}",
    [`${language}/${kind}.txt`]: "T {{username}}",
    [`${language}/${kind}.html`]: "<p>H {{username}}</p>",
  });

  it("replaces what it holds and leaves the rest built in", async () => {
    const templates = loadMailTemplates(
      await templateDir({ ...complete("de"), "en/email_verification.subject.txt": "Welcome\n" }),
    );
    expect(templates?.languages("password_reset")).toEqual(new Set(["en", "de"]));
    expect(templates?.languages("email_verification")).toEqual(new Set(["en"]));
    const facts = { username: "ana", link: "L", ttlSeconds: 60 };
    expect(renderAll("password_reset", facts, "de", templates)).toEqual({
      subject: "S ana",
      text: "T ana",
      html: "<p>H ana</p>",
    });
    const verification = renderAll("email_verification", facts, "en", templates);
    expect(verification.subject).toBe("Welcome");
    expect(verification.text).toBe(renderAll("email_verification", facts).text);
  });

  it("is not needed: unset, the built-in messages", () => {
    expect(loadMailTemplates(undefined)).toBeUndefined();
  });

  it.each([
    [
      "a misspelt message",
      { "de/password_rest.txt": "x" },
      /de\/password_rest\.txt: unknown message "password_rest"; the messages are password_reset, email_verification/,
    ],
    [
      "a file outside a language folder",
      { "password_reset.txt": "x" },
      /password_reset\.txt: not a template; files are <language>\/<kind>/,
    ],
    ["another ending", { "de/password_reset.htm": "x" }, /de\/password_reset\.htm: not a template/],
    [
      "a folder that is no language",
      { "german/password_reset.txt": "x" },
      /german\/password_reset\.txt: "german" is not a language tag/,
    ],
    [
      "a language other than English missing a part",
      { "de/password_reset.txt": "T", "de/password_reset.html": "H" },
      /de\/password_reset\.subject\.txt: missing; a message in a language other than English needs all three files/,
    ],
    [
      "an unknown variable",
      { ...complete("de"), "de/password_reset.txt": "Hallo\n{{vorname}}" },
      /de\/password_reset\.txt, line 2: unknown variable \{\{vorname\}\}/,
    ],
    ["a link in the notice, which has none", complete("en", "email_change_notice"), null],
    [
      "a subject of two lines",
      { "en/password_reset.subject.txt": "Reset\nyour password" },
      /en\/password_reset\.subject\.txt: a subject is one line of text/,
    ],
    [
      "the same file twice, in two cases",
      { ...complete("de"), "DE/password_reset.txt": "x" },
      /a second password_reset\.txt for "de"/,
    ],
  ])("refuses %s, naming the file", async (_case, files, message) => {
    const dir = await templateDir(
      message === null ? { "en/email_change_notice.txt": "{{link}}" } : files,
    );
    expect(() => loadMailTemplates(dir)).toThrow(
      message ?? /en\/email_change_notice\.txt, line 1: unknown variable \{\{link\}\}/,
    );
    try {
      loadMailTemplates(dir);
    } catch (error) {
      expect((error as Error).message.startsWith(dir)).toBe(true);
    }
  });

  it("refuses a directory that is not there", () => {
    expect(() => loadMailTemplates(join(scratch, "missing"))).toThrow(
      /^MAIL_TEMPLATES_DIR=.*missing: ENOENT/,
    );
  });

  it("skips dotfiles (editor and VCS files)", async () => {
    const dir = await templateDir({
      ...complete("de"),
      ".DS_Store": "x",
      "de/.password_reset.txt.swp": "x",
    });
    expect(loadMailTemplates(dir)?.languages("password_reset")).toEqual(new Set(["en", "de"]));
  });

  it("with a mistake, the Node server refuses to start, naming the file, and never listens", async () => {
    const dir = await templateDir({ "en/password_reset.txt": "Hello {{user_name}}" });
    const { exited, output, child } = spawnNodeServer({
      NODE_ENV: "test",
      MAIL_TEMPLATES_DIR: dir,
      // Never reached: the templates are refused first.
      DATABASE_URL: "postgres://postgres@127.0.0.1:1/unused",
      PORT: String(await freePort()),
    });
    const code = await Promise.race([exited, sleep(20_000).then(() => "still running")]);
    if (code === "still running") child.kill("SIGKILL");
    expect(code).toBe(1);
    expect(output()).toContain(
      `Invalid mail templates: ${dir}/en/password_reset.txt, line 1: unknown variable {{user_name}}`,
    );
    expect(output()).not.toContain("User API on");
  });
});
