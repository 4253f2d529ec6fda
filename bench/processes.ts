import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { envSchema } from "../src/config";
import { sleep } from "./stats";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

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

const running = new Set<ChildProcess>();

/**
 * This process's environment without the app's settings, so a DATABASE_URL or RATE_LIMIT_LOGIN
 * exported in the shell or written in .env cannot change what is measured; each start names what
 * it wants. Every variable is set empty, which means unset and still wins over .env.
 */
function neutralEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...Object.fromEntries(Object.keys(envSchema.shape).map((k) => [k, ""])),
  };
}

/** Kills every server still running (on failure or SIGINT). */
export function killAllServers() {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Spawns `args` on this very Node (process.execPath) with PORT set and waits until `readyPath`
 * answers 200. The child's output is kept, not shown: it would garble the bench's table.
 */
export async function startServer(
  args: string[],
  env: Record<string, string>,
  options: { readyPath?: string; timeoutMs?: number } = {},
): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...neutralEnv(), ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let tail = "";
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("exit", () => running.delete(child));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
    if (!done) child.kill("SIGKILL");
    await exited;
  };

  const deadline = started + (options.timeoutMs ?? 30_000);
  const readyUrl = `${url}${options.readyPath ?? "/ready"}`;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`${args.join(" ")} exited with ${child.exitCode}:\n${tail}`);
    }
    if (performance.now() > deadline) {
      await stop();
      throw new Error(`${args.join(" ")} was not ready within the time limit:\n${tail}`);
    }
    const ok = await fetch(readyUrl).then(
      async (r) => {
        await r.arrayBuffer();
        return r.status === 200;
      },
      () => false,
    );
    if (ok) break;
    // Short polls: the figure is the start-up time, so do not add much to it.
    await sleep(5);
  }
  const startupMs = performance.now() - started;
  return { pid: child.pid as number, url, startupMs, output: () => tail, stop };
}

/** `npm start` minus npm itself: scripts/start.mjs compiles and runs the server in one process. */
export const startApi = (env: Record<string, string>) => startServer(["scripts/start.mjs"], env);

/** The framework-free baseline; Node runs the TypeScript file by stripping its types. */
export const startBaseline = (env: Record<string, string>) =>
  startServer(["--disable-warning=ExperimentalWarning", "bench/baseline.ts"], env);

/** Resident set size now and its peak over the process's life (VmHWM), in MB, from /proc. */
export function memoryOf(pid: number): { rssMB: number; peakMB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  // The kernel's "kB" are KiB.
  const field = (name: string) =>
    (Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1]) * 1024) / 1e6;
  return { rssMB: field("VmRSS"), peakMB: field("VmHWM") };
}
