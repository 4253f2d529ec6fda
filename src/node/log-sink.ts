import { setLogSink } from "../log/log";

type Output = Pick<NodeJS.WriteStream, "write" | "on">;

let installed: { written(): Promise<void> } | undefined;

/** How long an info line may wait to be written with the ones after it. */
const GATHER_MS = 50;
/** Gathered text that is written at once, whatever its age. */
const GATHER_MAX = 64 * 1024;

/**
 * log() on Node: the info lines (the access log) are gathered and written to stdout together, at
 * most GATHER_MS after the first of them or once GATHER_MAX characters wait, instead of one
 * console.log each (that took about a sixth of an authenticated read's CPU time). Once per
 * event-loop turn was not enough: at 10 connections a turn holds about one request, so each read
 * still paid a write of its own to the pipe (about 3 % of W1's CPU time in the profile). A
 * warning or error first writes the info lines gathered before it, then goes to stderr at once.
 * What is still gathered when the process exits is written then (`process.exit()` included; a
 * SIGKILL loses at most GATHER_MS of lines). Write errors (a closed pipe) are ignored, as
 * console.log ignores them.
 */
export function installBatchedLog(out: Output = process.stdout, err: Output = process.stderr) {
  let pending = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Writes handed to `out` and not yet done, and who waits for them to be.
  let unfinished = 0;
  let waiting: Array<() => void> = [];
  const finished = () => {
    if (--unfinished > 0) return;
    const wake = waiting;
    waiting = [];
    for (const resolve of wake) resolve();
  };
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending === "") return;
    const text = pending;
    pending = "";
    unfinished++;
    out.write(text, finished);
  };
  out.on("error", () => {});
  err.on("error", () => {});
  setLogSink((level, line) => {
    if (level === "info") {
      pending += `${line}\n`;
      if (pending.length >= GATHER_MAX) flush();
      // Unreferenced: gathered lines alone do not keep the process alive (exit writes them).
      else timer ??= setTimeout(flush, GATHER_MS).unref();
      return;
    }
    flush();
    err.write(`${line}\n`);
  });
  process.on("exit", flush);
  installed = {
    written: () =>
      new Promise<void>((resolve) => {
        flush();
        if (unfinished === 0) resolve();
        else waiting.push(resolve);
      }),
  };
}

/**
 * Resolves once stdout has taken every line logged so far. A pipe's writes are asynchronous on
 * POSIX: the ones still queued when process.exit() runs are lost, so shutdown waits for this.
 */
export const logWritten = () => installed?.written() ?? Promise.resolve();
