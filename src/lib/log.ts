export type LogLevel = "info" | "warn" | "error";

/**
 * Writes one JSON line: `time`, `level`, `msg`, then `fields`. Info goes to stdout, warnings and
 * errors to stderr. Callers pass names and ids only, never a secret, token or query parameter.
 */
export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}) {
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields });
  if (level === "info") console.log(line);
  else console.error(line);
}
