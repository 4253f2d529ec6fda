import { log } from "./log";

/**
 * Logs a failed background task (mail) by name and message only, with `fields` (ids, never an
 * address or body); anything shaped like a token or key is masked, since a reset link in a log
 * would hand over the account.
 */
export function logBackgroundFailure(
  error: unknown,
  msg = "background task failed",
  fields: Record<string, unknown> = {},
) {
  const e = error instanceof Error ? error : new Error(String(error));
  const message = e.message.replace(/[A-Za-z0-9_-]{24,}/g, "[redacted]");
  log("error", msg, { ...fields, error: e.name, message });
}
