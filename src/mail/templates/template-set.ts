import { builtInEnglish, type MessageSource } from "./built-in";
import { type MailKind, mailKinds, variablesOf } from "./kinds";
import { type Compiled, compile, TemplateError } from "./syntax";

/** One message compiled: its subject, text and HTML templates. */
export type CompiledMessage = { subject: Compiled; text: Compiled; html: Compiled };

/** Every message in every language present; English is always complete. */
export type MailTemplates = {
  /** The languages (lower-case tags) that have a message of `kind`. */
  languages(kind: MailKind): ReadonlySet<string>;
  /** The message of `kind` in `language`, or in English when that language has none. */
  message(kind: MailKind, language: string): CompiledMessage;
};

/** The language the built-in messages are written in, and the last fallback. */
export const DEFAULT_LANGUAGE = "en";

/** A message's three files by the end of their name, and the part each holds. */
const parts = [
  ["subject.txt", "subject"],
  ["txt", "text"],
  ["html", "html"],
] as const;
type Part = (typeof parts)[number][1];

const FILE = /^([^/]+)\/([^/.]+)\.(subject\.txt|txt|html)$/;
// A language tag as Accept-Language writes them (RFC 5646's shape, loosely): de, de-ch, zh-hant-tw.
const LANGUAGE = /^[a-z]{2,3}(-[a-z0-9]{1,8})*$/;
const MAX_FILE_CHARS = 64 * 1024;

/**
 * Compiles the templates in `files` (their path under the template directory, `<language>/<kind>.
 * <subject.txt|txt|html>`, to their text) over the built-in English ones; `origin` names the
 * directory in errors. Throws TemplateError naming the file for anything it cannot use: an unknown
 * name or variable, a language other than English missing one of a message's three parts, a
 * subject of more than one line. Called once, at start (Node) or in the build (the Worker).
 */
export function compileTemplates(
  files: Readonly<Record<string, string>>,
  origin = "",
): MailTemplates {
  const where = (path: string) => (origin ? `${origin}/${path}` : path);
  const sources = new Map<string, Map<MailKind, Partial<MessageSource>>>();
  for (const [path, content] of Object.entries(files)) {
    const [, folder = "", kind = "", ending = ""] = FILE.exec(path) ?? [];
    const refuse = (why: string) => {
      throw new TemplateError(`${where(path)}: ${why}`);
    };
    if (!folder) refuse("not a template; files are <language>/<kind>.subject.txt, .txt or .html");
    const language = folder.toLowerCase();
    if (!LANGUAGE.test(language)) refuse(`"${folder}" is not a language tag (en, de, pt-br)`);
    if (!(mailKinds as readonly string[]).includes(kind)) {
      refuse(`unknown message "${kind}"; the messages are ${mailKinds.join(", ")}`);
    }
    if (content.length > MAX_FILE_CHARS) refuse(`larger than ${MAX_FILE_CHARS} characters`);
    const byKind = sources.get(language) ?? new Map<MailKind, Partial<MessageSource>>();
    sources.set(language, byKind);
    const message = byKind.get(kind as MailKind) ?? {};
    byKind.set(kind as MailKind, message);
    const part = parts.find(([end]) => end === ending)?.[1] as Part;
    if (message[part] !== undefined) {
      refuse(`a second ${kind}.${ending} for "${language}" (names are case-insensitive)`);
    }
    message[part] = content;
  }

  const english = sources.get(DEFAULT_LANGUAGE) ?? new Map<MailKind, Partial<MessageSource>>();
  sources.set(DEFAULT_LANGUAGE, english);
  for (const kind of mailKinds)
    english.set(kind, { ...builtInEnglish[kind], ...english.get(kind) });

  const compiled = new Map<string, Map<MailKind, CompiledMessage>>();
  for (const [language, byKind] of sources) {
    const out = new Map<MailKind, CompiledMessage>();
    for (const [kind, source] of byKind)
      out.set(
        kind,
        compileMessage(kind, source, (end) => where(`${language}/${kind}.${end}`)),
      );
    compiled.set(language, out);
  }
  const languages = new Map(
    mailKinds.map((kind) => [
      kind,
      new Set([...compiled].filter(([, byKind]) => byKind.has(kind)).map(([language]) => language)),
    ]),
  );
  const compiledEnglish = compiled.get(DEFAULT_LANGUAGE) as Map<MailKind, CompiledMessage>;
  return {
    languages: (kind) => languages.get(kind) ?? new Set([DEFAULT_LANGUAGE]),
    message: (kind, language) =>
      compiled.get(language)?.get(kind) ?? (compiledEnglish.get(kind) as CompiledMessage),
  };
}

/** One message's parts compiled; `file` names the file of a part by its ending. */
function compileMessage(
  kind: MailKind,
  source: Partial<MessageSource>,
  file: (ending: string) => string,
): CompiledMessage {
  const missing = parts.find(([, part]) => source[part] === undefined);
  if (missing) {
    throw new TemplateError(
      `${file(missing[0])}: missing; a message in a language other than English needs all three files (${kind}.subject.txt, ${kind}.txt, ${kind}.html)`,
    );
  }
  const subject = (source.subject ?? "").replace(/[\r\n]+$/, "");
  if (/[\r\n]/.test(subject) || subject.trim() === "") {
    throw new TemplateError(`${file("subject.txt")}: a subject is one line of text`);
  }
  const known = variablesOf[kind];
  return {
    subject: compile(subject, known, file("subject.txt")),
    text: compile(source.text ?? "", known, file("txt")),
    html: compile(source.html ?? "", known, file("html")),
  };
}

/** The built-in English messages alone (no template directory). */
export const builtInTemplates = compileTemplates({});
