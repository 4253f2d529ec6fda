import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { envSchema } from "../../src/config";
import { testEnv } from "./test-env";

const root = fileURLToPath(new URL("../..", import.meta.url));
const START_TIMEOUT_MS = 60_000;

/** A process started from the repository root, its output kept as it comes. */
export type ChildRun = {
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
};

/** `node <args>` on this same Node 24; see runCommand. */
export const runNode = (args: string[], env: Record<string, string>) =>
  runCommand(process.execPath, args, env);

/**
 * Runs a command from the repository root with `env` on this process's environment, cleared of
 * every app variable first so that a DATABASE_URL in the shell cannot reach it.
 */
export function runCommand(command: string, args: string[], env: Record<string, string>): ChildRun {
  const clean = { ...process.env };
  for (const name of Object.keys(envSchema.shape)) delete clean[name];
  const child = spawn(command, args, {
    cwd: root,
    env: { ...clean, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { child, pid: child.pid as number, exited, stdout: () => stdout, stderr: () => stderr };
}

/** The Node server as `npm start` runs it (scripts/start.mjs), on a port of its own. */
export type ServerProcess = ChildRun & {
  url: URL;
  /** Sends `signal` (SIGTERM by default) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
};

/**
 * Starts the server with the test environment (tests/support/test-env.ts) and `env` on top, on a
 * free port, and waits until GET /health answers.
 */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const url = new URL(`http://127.0.0.1:${port}`);
  const run = runNode(["scripts/start.mjs"], testEnv({ PORT: String(port), ...env }));
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill(signal);
    return run.exited;
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await answers(new URL("/health", url)))) {
    if (run.child.exitCode !== null || Date.now() > deadline) {
      await stop("SIGKILL");
      throw new Error(`the server did not start:\n${run.stdout()}\n${run.stderr()}`);
    }
    await sleep(50);
  }
  return { ...run, url, stop };
}

const answers = (url: URL) =>
  fetch(url).then(
    async (res) => {
      await res.arrayBuffer();
      return res.ok;
    },
    () => false,
  );

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The JSON lines of `output`; other lines (the start-up banner) are left out. */
export function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
