import type { Context } from "hono";
import type { AppEnv } from "../deps";
import type { AuditSource } from "./audit.store";

const MAX_USER_AGENT = 512;
const MAX_IP = 64;

/** Header text as an entry keeps it: without control characters (Postgres refuses NUL), capped. */
const printable = (text: string, max: number) => text.replace(/[\p{Cc}\p{Cs}]/gu, "").slice(0, max);

/** The request's client address (the one rate limits count) and user agent, and the time. */
export function auditSource(c: Context<AppEnv>, at: Date = c.get("deps").clock.now()): AuditSource {
  const userAgent = c.req.header("user-agent");
  return {
    at,
    ip: printable(c.get("clientIp"), MAX_IP),
    userAgent: userAgent === undefined ? null : printable(userAgent, MAX_USER_AGENT),
  };
}
