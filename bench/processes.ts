import { readFileSync } from "node:fs";
import { startServer as startShared } from "../tests/support/processes";

export { ROOT } from "../tests/support/processes";

/** A server the bench started, on its own port. */
export type ServerProcess = {
  pid: number;
  url: string;
  /** Milliseconds from spawn to the first 200 from `readyPath`. */
  startupMs: number;
  /** Last lines of its output, for error messages. */
  output(): string;
  stop(): Promise<void>;
};

const running = new Set<() => Promise<unknown>>();

/** Kills every server still running (on failure or SIGINT). */
export function killAllServers() {
  for (const stop of running) void stop();
  running.clear();
}

/**
 * Spawns `args` on this very Node (process.execPath) with PORT set and waits until `readyPath`
 * answers 200. The child's output is kept, not shown: it would garble the bench's table. The
 * app's variables are set empty, so a DATABASE_URL or RATE_LIMIT_LOGIN exported in the shell or
 * written in .env cannot change what is measured; each start names what it wants.
 */
export async function startServer(
  args: string[],
  env: Record<string, string>,
  options: { readyPath?: string; timeoutMs?: number } = {},
): Promise<ServerProcess> {
  const server = await startShared({
    args,
    env,
    blankAppEnv: true,
    readyPath: options.readyPath,
    timeoutMs: options.timeoutMs ?? 30_000,
    // Short polls: the figure is the start-up time, so do not add much to it.
    pollMs: 5,
    // The last lines, for error messages.
    outputKept: 4000,
  });
  const kill = () => server.stop("SIGKILL", 0);
  running.add(kill);
  const stop = async () => {
    running.delete(kill);
    await server.stop("SIGTERM", 5000);
  };
  return {
    pid: server.pid,
    url: server.url.origin,
    startupMs: server.startupMs,
    output: server.output,
    stop,
  };
}

/**
 * The V8 heap flags `npm start` passes (package.json): a young generation of at most 2 × 32 MB
 * (Node 24 lets it grow to 2 × 64 MB) and an old one grown by half its live size between full
 * collections (Node's default lets it grow up to fourfold). Memory under 200 concurrent logins,
 * docs/operations.md.
 */
export const HEAP_FLAGS = ["--max-semi-space-size=32", "--heap-growing-percent=50"];

/**
 * `npm start` minus npm itself: scripts/start.mjs compiles and runs the server in one process,
 * with V8's baseline WebAssembly compiler only (PGlite's memory at start-up) and HEAP_FLAGS.
 * `nodeFlags` replaces the WebAssembly flag (for a comparison).
 */
export const startApi = (env: Record<string, string>, nodeFlags = ["--liftoff-only"]) =>
  startServer([...nodeFlags, ...HEAP_FLAGS, "scripts/start.mjs"], env);

/** The framework-free baseline; Node runs the TypeScript file by stripping its types. */
export const startBaseline = (env: Record<string, string>) =>
  startServer(["--disable-warning=ExperimentalWarning", "bench/baseline.ts"], env);

/** The baseline's handlers as a bare Hono app on @hono/node-server: the stack's own floor. */
export const startHonoFloor = (env: Record<string, string>) =>
  startBaseline({ ...env, BASELINE_SERVER: "hono" });

/** Resident set size now and its peak over the process's life (VmHWM), in MB, from /proc. */
export function memoryOf(pid: number): { rssMB: number; peakMB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  // The kernel's "kB" are KiB.
  const field = (name: string) =>
    (Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1]) * 1024) / 1e6;
  return { rssMB: field("VmRSS"), peakMB: field("VmHWM") };
}
