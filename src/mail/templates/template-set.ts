import { builtInEnglish, type MessageSource } from "./built-in";
import { type MailKind, mailKinds, variablesOf } from "./kinds";
import { type Compiled, compile, TemplateError } from "./syntax";

/** One message compiled: its subject, text and HTML templates. */
export type CompiledMessage = { subject: Compiled; text: Compiled; html: Compiled };

/** Every message in every language present; English is always complete. */
export type MailTemplates = {
  /** The languages (lower-case tags) that have a message of `kind`. */
  languages(kind: MailKind): ReadonlySet<string>;
  message(kind: MailKind, language: string): CompiledMessage | undefined;
};

/** The language the built-in messages are written in, and the last fallback. */
export const DEFAULT_LANGUAGE = "en";

/** The three files of a message, by the name's ending. */
const partFiles = { "subject.txt": "subject", txt: "text", html: "html" } as const;
type Part = (typeof partFiles)[keyof typeof partFiles];

const FILE = /^([^/]+)\/([^/.]+)\.(subject\.txt|txt|html)$/;
// A language tag as Accept-Language writes them (RFC 5646's shape, loosely): de, de-ch, zh-hant-tw.
const LANGUAGE = /^[a-z]{2,3}(-[a-z0-9]{1,8})*$/;
const MAX_FILE_CHARS = 64 * 1024;

/**
 * Compiles the templates in `files` (their path under the template directory, `<language>/<kind>.
 * <subject.txt|txt|html>`, to their text) over the built-in English ones. `origin` names the
 * directory in errors. Throws TemplateError naming the file for anything it cannot use: an unknown
 * name or variable, a language other than English missing one of a message's three parts, a
 * subject of more than one line. Called once, at start (Node) or at build time (the Worker).
 */
export function compileTemplates(
  files: Readonly<Record<string, string>>,
  origin = "",
): MailTemplates {
  const where = (path: string) => (origin ? `${origin}/${path}` : path);
  const sources = new Map<string, Map<MailKind, Partial<MessageSource>>>();
  for (const [path, content] of Object.entries(files)) {
    const [, language = "", kind = "", ending = ""] = FILE.exec(path) ?? [];
    if (!FILE.test(path)) {
      throw new TemplateError(
        `${where(path)}: not a template; files are <language>/<kind>.subject.txt, .txt or .html`,
      );
    }
    if (!LANGUAGE.test(language.toLowerCase())) {
      throw new TemplateError(
        `${where(path)}: "${language}" is not a language tag (en, de, pt-br)`,
      );
    }
    if (!(mailKinds as readonly string[]).includes(kind)) {
      throw new TemplateError(
        `${where(path)}: unknown message "${kind}"; the messages are ${mailKinds.join(", ")}`,
      );
    }
    if (content.length > MAX_FILE_CHARS) {
      throw new TemplateError(`${where(path)}: larger than ${MAX_FILE_CHARS} characters`);
    }
    const tag = language.toLowerCase();
    const byKind = sources.get(tag) ?? new Map<MailKind, Partial<MessageSource>>();
    sources.set(tag, byKind);
    const message = byKind.get(kind as MailKind) ?? {};
    byKind.set(kind as MailKind, message);
    const part: Part = partFiles[ending as keyof typeof partFiles];
    if (message[part] !== undefined) {
      throw new TemplateError(
        `${where(path)}: a second ${path.split("/")[1]} for "${tag}" (names are case-insensitive)`,
      );
    }
    message[part] = content;
  }

  const compiled = new Map<string, Map<MailKind, CompiledMessage>>();
  const english = sources.get(DEFAULT_LANGUAGE) ?? new Map();
  sources.set(DEFAULT_LANGUAGE, english);
  for (const kind of mailKinds)
    english.set(kind, { ...builtInEnglish[kind], ...english.get(kind) });
  for (const [language, byKind] of sources) {
    const out = new Map<MailKind, CompiledMessage>();
    for (const [kind, source] of byKind) {
      const file = (part: Part) => {
        const ending = Object.entries(partFiles).find(([, p]) => p === part)?.[0];
        return where(`${language}/${kind}.${ending}`);
      };
      const known = variablesOf[kind];
      const missing = (["subject", "text", "html"] as const).filter((p) => source[p] === undefined);
      if (missing.length > 0) {
        throw new TemplateError(
          `${file(missing[0] ?? "text")}: missing; a message in a language other than English needs all three files (${kind}.subject.txt, ${kind}.txt, ${kind}.html)`,
        );
      }
      const subject = (source.subject ?? "").replace(/[\r\n]+$/, "");
      if (/[\r\n]/.test(subject) || subject.trim() === "") {
        throw new TemplateError(`${file("subject")}: a subject is one line of text`);
      }
      out.set(kind, {
        subject: compile(subject, known, file("subject")),
        text: compile(source.text ?? "", known, file("text")),
        html: compile(source.html ?? "", known, file("html")),
      });
    }
    compiled.set(language, out);
  }

  const languages = new Map(
    mailKinds.map((kind) => [
      kind,
      new Set([...compiled].filter(([, byKind]) => byKind.has(kind)).map(([language]) => language)),
    ]),
  );
  return {
    languages: (kind) => languages.get(kind) ?? new Set([DEFAULT_LANGUAGE]),
    message: (kind, language) => compiled.get(language)?.get(kind),
  };
}

/** The built-in English messages alone (no template directory). */
export const builtInTemplates = compileTemplates({});
