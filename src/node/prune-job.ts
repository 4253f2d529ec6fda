import { type PruneDeps, runPrune } from "../prune";

/** The first run comes this long after start (or one interval, when shorter): off start-up. */
const FIRST_RUN_MAX_DELAY_MS = 5 * 60_000;

/**
 * Prunes stale rows every PRUNE_INTERVAL_MS in this process, the next run timed from the end of
 * the last so that runs never overlap. The timers never keep the process alive, and a failed run
 * is logged and followed by the next. Returns stop: no further run starts, and a run in progress
 * ends after its current batch, before the promise resolves (so the pool can close after it).
 */
export function startPruneJob(deps: PruneDeps): () => Promise<void> {
  const interval = deps.config.pruneIntervalMs;
  if (interval === 0) return async () => {};
  const stopped = new AbortController();
  let running: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const schedule = (delay: number) => {
    timer = setTimeout(() => {
      running = runPrune(deps, stopped.signal).finally(() => {
        if (!stopped.signal.aborted) schedule(interval);
      });
    }, delay).unref();
  };
  schedule(Math.min(interval, FIRST_RUN_MAX_DELAY_MS));
  return async () => {
    stopped.abort();
    clearTimeout(timer);
    await running;
  };
}
