import { log } from "./log";

/**
 * Logs a failed background task (mail) by name and message only; anything shaped like a token
 * or key is masked, since a reset link in a log would hand over the account.
 */
export function logBackgroundFailure(error: unknown) {
  const e = error instanceof Error ? error : new Error(String(error));
  const message = e.message.replace(/[A-Za-z0-9_-]{24,}/g, "[redacted]");
  log("error", "background task failed", { error: e.name, message });
}
