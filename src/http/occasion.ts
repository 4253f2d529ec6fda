import type { Context } from "hono";
import type { Occasion } from "../audit/audit.store";
import type { AppEnv } from "../deps";

const MAX_USER_AGENT = 512;
const MAX_IP = 64;

/** Header text as an entry keeps it: without control characters (Postgres refuses NUL), capped. */
const printable = (text: string, max: number) => text.replace(/[\p{Cc}\p{Cs}]/gu, "").slice(0, max);

/**
 * What could change how an admin reads an entry: control characters, the bidirectional marks,
 * embeddings, overrides and isolates, the line and paragraph separators, lone surrogates, and the
 * backslash that starts an escape (so an escape in the log was never typed by the client).
 */
const UNSAFE = /[\p{Cc}\p{Cs}\\\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/u;

/**
 * A User-Agent (as text: see Deps.headerText) as the audit log keeps it: every UNSAFE character
 * written out as visible text (`\u202e`; a backslash as `\\`), cut at MAX_USER_AGENT characters,
 * never inside an escape or a surrogate pair.
 */
export function auditedUserAgent(text: string) {
  let kept = "";
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    const shown = !UNSAFE.test(char)
      ? char
      : char === "\\"
        ? "\\\\"
        : `\\u${code.toString(16).padStart(4, "0")}`;
    if (kept.length + shown.length > MAX_USER_AGENT) break;
    kept += shown;
  }
  return kept;
}

/** The request's client address (the one rate limits count) and user agent, and the time. */
export function occasionOf(c: Context<AppEnv>, at: Date = c.get("deps").clock.now()): Occasion {
  const userAgent = c.req.header("user-agent");
  const { headerText } = c.get("deps");
  return {
    at,
    ip: printable(c.get("clientIp"), MAX_IP),
    userAgent:
      userAgent === undefined ? null : auditedUserAgent(headerText?.(userAgent) ?? userAgent),
  };
}
