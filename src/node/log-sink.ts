import { setLogSink } from "../log/log";

type Output = Pick<NodeJS.WriteStream, "write" | "on">;

let installed: { written(): Promise<void> } | undefined;

/**
 * log() on Node: the info lines (the access log) are gathered and written to stdout once per
 * event-loop turn, in one write, instead of one console.log each (that took about a sixth of an
 * authenticated read's CPU time). A warning or error first writes the info lines gathered before
 * it, then goes to stderr at once. What is still gathered when the process exits is written then.
 * Write errors (a closed pipe) are ignored, as console.log ignores them.
 */
export function installBatchedLog(out: Output = process.stdout, err: Output = process.stderr) {
  let pending = "";
  let scheduled = false;
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
    scheduled = false;
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
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
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
