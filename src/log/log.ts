export type LogLevel = "info" | "warn" | "error";

/** Where the lines go: one JSON line at a time, without its newline. */
export type LogSink = (level: LogLevel, line: string) => void;

/** Info to stdout, warnings and errors to stderr, one console call per line (Workers keep it). */
const consoleSink: LogSink = (level, line) => {
  if (level === "info") console.log(line);
  else console.error(line);
};

let sink: LogSink = consoleSink;

/**
 * Replaces where log() writes (the Node entry batches the info lines, src/node/log-sink.ts);
 * `undefined` puts the console back.
 */
export function setLogSink(next: LogSink | undefined) {
  sink = next ?? consoleSink;
}

/**
 * Writes one JSON line: `time`, `level`, `msg`, then `fields`. Info goes to stdout, warnings and
 * errors to stderr. Callers pass names and ids only, never a secret, token or query parameter.
 */
export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}) {
  sink(level, JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
}
