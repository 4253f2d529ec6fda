import type { Server } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { log } from "../log/log";
import { logWritten } from "./log-sink";

/** The stages of stopping the server (see shutdownOnSignals). */
export type ShutdownSteps = {
  /** Stops taking work and resolves when the work in flight (requests, mail) is done. */
  drain(): Promise<void>;
  /** Cuts the work still in flight once the deadline has passed. */
  abort(): void;
  /** Releases what the work used (the database), after drain or abort. */
  release(): Promise<void>;
};

/**
 * How long `release` and writing out the log may take after draining (or its deadline) before
 * the process exits 1 regardless.
 */
const RELEASE_GRACE_MS = 1500;

/**
 * On SIGTERM or SIGINT: drain, release, write out the log, exit 0. Work still in flight after
 * `timeoutMs` is cut (abort), and the process exits 1 once released. A second signal exits at once.
 */
export function shutdownOnSignals(steps: ShutdownSteps, timeoutMs: number) {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      log("warn", "second signal during shutdown: exiting now", { signal });
      process.exit(1);
    }
    stopping = true;
    log("info", "shutting down", { signal, timeout_ms: timeoutMs });
    const drained = await Promise.race([
      steps.drain().then(
        () => true,
        (error: unknown) => {
          log("error", "shutdown: draining failed", { error: String(error) });
          return false;
        },
      ),
      sleep(timeoutMs, false, { ref: false }),
    ]);
    if (!drained) {
      log("error", "shutdown deadline passed: cutting the requests still in flight", {
        timeout_ms: timeoutMs,
      });
      steps.abort();
    }
    setTimeout(() => process.exit(1), RELEASE_GRACE_MS).unref();
    await steps.release().catch((error: unknown) => {
      log("error", "shutdown: closing the database failed", { error: String(error) });
    });
    // The last lines (the requests just answered, this shutdown's own) reach stdout first; a
    // reader that takes longer than the grace period loses them to the exit above.
    await logWritten();
    process.exit(drained ? 0 : 1);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

/**
 * Connections the kernel completed before the signal wait in its queue until the process accepts
 * them, one per event-loop turn, and closing the listener resets every one still queued (seen:
 * 35 queued behind a busy server, their requests already sent). So the server first accepts until
 * a few turns pass without a new connection, for at most ACCEPT_DRAIN_MAX_MS.
 */
const QUIET_TURNS = 3;
const ACCEPT_DRAIN_MAX_MS = 3000;

/**
 * Stops accepting connections once the queued ones are taken in, and resolves when every open
 * connection has closed: idle ones at once, the others after the response in flight.
 */
export async function closeServer(server: Server) {
  let accepted = 0;
  const count = () => {
    accepted++;
  };
  server.on("connection", count);
  const deadline = performance.now() + ACCEPT_DRAIN_MAX_MS;
  for (let quiet = 0; quiet < QUIET_TURNS && performance.now() < deadline; ) {
    const before = accepted;
    await new Promise((next) => setImmediate(next));
    quiet = accepted === before ? quiet + 1 : 0;
  }
  server.off("connection", count);
  await new Promise((closed) => server.close(closed));
}
