/** A template compiled once: literal text and the variables between it, in order. */
export type Compiled = readonly (string | { name: string })[];

/** Raised when a template cannot be used; the message names the file and the line. */
export class TemplateError extends Error {
  override name = "TemplateError";
}

const TAG = /\{\{\s*([^{}]*?)\s*\}\}/g;

/**
 * Compiles `source` (`{{name}}` between plain text), refusing any name outside `known` and any
 * stray `{{` or `}}`, so a typo stops the start (or the Worker build) instead of a send. There is
 * no other syntax: no expressions, no raw output, nothing evaluated.
 */
export function compile(source: string, known: readonly string[], file: string): Compiled {
  const parts: (string | { name: string })[] = [];
  const refuse = (at: number, what: string): never => {
    const line = source.slice(0, at).split("\n").length;
    throw new TemplateError(`${file}, line ${line}: ${what}`);
  };
  let last = 0;
  for (const match of source.matchAll(TAG)) {
    const name = match[1] ?? "";
    const literal = source.slice(last, match.index);
    checkLiteral(literal, last, refuse);
    const end = match.index + match[0].length;
    if (source[match.index - 1] === "{" || source[end] === "}") {
      refuse(match.index, "{{{...}}}: there is no raw output (the HTML part escapes every value)");
    }
    if (!known.includes(name)) {
      refuse(
        match.index,
        `unknown variable {{${name}}}; this message knows ${known.map((k) => `{{${k}}}`).join(", ")}`,
      );
    }
    if (literal) parts.push(literal);
    parts.push({ name });
    last = end;
  }
  const tail = source.slice(last);
  checkLiteral(tail, last, refuse);
  if (tail) parts.push(tail);
  return parts;
}

function checkLiteral(text: string, offset: number, refuse: (at: number, what: string) => never) {
  const open = text.indexOf("{{");
  if (open >= 0) refuse(offset + open, "a {{ without its }} (or with a brace inside)");
  const close = text.indexOf("}}");
  if (close >= 0) refuse(offset + close, "a }} without its {{");
}

/** The text of `template` with each variable's value, passed through `encode` (HTML escaping). */
export function render(
  template: Compiled,
  values: Readonly<Record<string, string>>,
  encode: (value: string) => string = (value) => value,
): string {
  let out = "";
  for (const part of template)
    out += typeof part === "string" ? part : encode(values[part.name] ?? "");
  return out;
}

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
