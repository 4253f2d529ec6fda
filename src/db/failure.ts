import { pgErrorCode } from "./database";

/**
 * What a log line says of a failure: its innermost cause only, because Drizzle's wrapper message
 * carries the query parameters, which can include password hashes, and those never enter a log.
 * The stack only when asked for (an unexpected error, not a known outage).
 */
export function failureFields(error: unknown, { stack = false } = {}) {
  let inner = error;
  while (inner instanceof Error && inner.cause !== undefined) inner = inner.cause;
  const e = inner instanceof Error ? inner : new Error(String(inner));
  return {
    error: e.name,
    code: pgErrorCode(error),
    message: e.message,
    ...(stack ? { stack: e.stack } : {}),
  };
}
