import type { Context } from "hono";
import type { AppEnv } from "../deps";

/** Long enough for any real preference list ("de-CH,de;q=0.9,en;q=0.8"), short for a column. */
const MAX_LANGUAGE = 64;

/**
 * The request's Accept-Language as an account keeps it (users.mail_language), for mail caused
 * later by someone else: only the characters a language list uses, capped; null when none.
 */
export function acceptLanguageOf(c: Context<AppEnv>): string | null {
  const kept = (c.req.header("accept-language") ?? "")
    .replace(/[^A-Za-z0-9\-,;=.* ]/g, "")
    .slice(0, MAX_LANGUAGE)
    .trim();
  return kept === "" ? null : kept;
}
