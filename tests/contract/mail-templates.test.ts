import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESET_SENT, resetMailsTo } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";

// The same template directory on every runtime: read at start on Node, bundled by the build on
// the Worker (tests/support/worker-api.ts builds one with it). Its German password_reset is
// complete; its English one replaces only the HTML part.
const TEMPLATES = fileURLToPath(new URL("../fixtures/mail-templates", import.meta.url));
// An `&` in the link: the HTML part must escape it too.
const APP_URL = "https://app.example.test/reset?from=mail&token=";
const FIRST_NAME = "<script>alert(1)</script>";
const LAST_NAME = "O'Brien & Co";

let api: ContractApi;
beforeAll(async () => {
  api = await startApi({ env: { MAIL_TEMPLATES_DIR: TEMPLATES, APP_URL } });
}, 180_000);
afterAll(() => api?.close());

let counter = 0;
/** A new account whose names need escaping in HTML. */
async function account() {
  const username = `tpl${++counter}_${Math.random().toString(36).slice(2, 8)}`;
  const email = `${username}@example.com`;
  const res = await api.send("POST", "/api/user/register", {
    username,
    email,
    first_name: FIRST_NAME,
    last_name: LAST_NAME,
    password: `pw-${username}-secret`,
  });
  expect(res.status).toBe(201);
  return { username, email };
}

/** The reset mail the account gets when asked for with `acceptLanguage`. */
async function resetMail(acceptLanguage?: string) {
  const user = await account();
  const res = await api.request("/api/user/forget_password", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(acceptLanguage !== undefined && { "accept-language": acceptLanguage }),
    },
    body: JSON.stringify({ username: user.username, email: user.email }),
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual(RESET_SENT);
  const mails = await resetMailsTo(api, user.email);
  expect(mails).toHaveLength(1);
  const mail = mails[0] as NonNullable<(typeof mails)[0]>;
  const token = /token=([A-Za-z0-9_-]{43,})/.exec(mail.text)?.[1] ?? "missing";
  return { ...mail, user, token };
}

describe("templates from MAIL_TEMPLATES_DIR, picked by Accept-Language", () => {
  it.each([
    ["a region falls back to its language", "de-CH"],
    ["an absent language is passed over for the next", "fr, de;q=0.8"],
    ["the highest q-value wins, whatever the order", "en;q=0.5, de;q=0.9"],
  ])("%s (%s): the directory's German", async (_rule, header) => {
    const mail = await resetMail(header);
    expect(mail.subject).toBe(`Passwort zurücksetzen für ${mail.user.username}`);
    expect(mail.text).toBe(
      `Hallo ${FIRST_NAME},\n\nein neues Passwort wählst du hier:\n${APP_URL}${mail.token}\n\nDer Link gilt 30 Minuten.\n`,
    );
    expect(mail.html).toBe(
      `<p>Hallo &#60;script&#62;alert(1)&#60;/script&#62;,</p>\n<p><a href="https://app.example.test/reset?from=mail&#38;token=${mail.token}">Neues Passwort wählen</a> (gilt 30 Minuten)</p>\n`,
    );
  });

  it.each([
    ["no Accept-Language", undefined],
    ["only absent languages", "fr, it;q=0.5"],
    ["German refused with q=0", "de;q=0, fr"],
    ["the wildcard", "*"],
  ])("%s: English, the directory's HTML over the built-in subject and text", async (_c, header) => {
    const mail = await resetMail(header);
    expect(mail.subject).toBe("Reset your password");
    expect(mail.text).toBe(
      [
        `Hello ${mail.user.username},`,
        "",
        "Someone asked to reset the password of your account. To choose a new password, open:",
        `${APP_URL}${mail.token}`,
        "",
        "The link works once and expires in 30 minutes. If you did not ask for it, ignore this email.",
      ].join("\n"),
    );
    expect(mail.html).toBe(
      `<p>Hi &#60;script&#62;alert(1)&#60;/script&#62; O&#39;Brien &#38; Co,</p>\n<p><a href="https://app.example.test/reset?from=mail&#38;token=${mail.token}">Choose a new password</a> within 30 minutes.</p>\n`,
    );
    expect(mail.html).not.toContain("<script>");
  });

  it("the link in a mail from a template resets the password", async () => {
    const mail = await resetMail("de");
    const res = await api.send("POST", "/api/user/reset_password", {
      token: mail.token,
      new_password: "a new password from the German mail",
    });
    expect(res.status).toBe(200);
  });
});

describe("GET /ready shows how mail is going", () => {
  it("ok once a mail went out", async () => {
    await resetMail("de");
    const res = await api.request("/ready");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: "ready",
      mail: { status: "ok", failures: 0, last_failure_at: null },
    });
  });
});
