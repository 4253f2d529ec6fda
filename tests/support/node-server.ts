import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { envSchema } from "../../src/config";

const root = fileURLToPath(new URL("../..", import.meta.url));
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
// The tail of the server's output kept for error messages and assertions (it logs every request).
const OUTPUT_KEPT = 64 * 1024;

/** The Node server as `npm start` runs it, in a child process of the test. */
export type NodeServer = {
  /** http://127.0.0.1:<port> */
  url: URL;
  /** What the server printed lately (stdout and stderr, the last 64 KiB). */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within 10 s; resolves with the exit code. */
  stop(): Promise<number | null>;
};

/**
 * Spawns `node scripts/start.mjs` (what `npm start` runs: the compiled src/node.ts) on this same
 * Node, with `env` on a copy of this process's environment cleared of every app variable, so a
 * DATABASE_URL in the shell cannot reach the server.
 */
export function spawnNodeServer(env: Record<string, string>) {
  const clean = { ...process.env };
  for (const name of Object.keys(envSchema.shape)) delete clean[name];
  const child = spawn(process.execPath, ["scripts/start.mjs"], {
    cwd: root,
    env: { ...clean, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_KEPT);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
  });
  return { child, exited, output: () => output };
}

/** Starts the server on a free port and waits until GET /ready answers 200. */
export async function startNodeServer(env: Record<string, string>): Promise<NodeServer> {
  const port = await freePort();
  const url = new URL(`http://127.0.0.1:${port}`);
  const { child, exited, output } = spawnNodeServer({ ...env, PORT: String(port) });
  const stop = () => stopChild(child, exited);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const status = child.exitCode ?? child.signalCode;
      throw new Error(`the Node server exited (${status}) before it was ready:\n${output()}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the Node server was not ready within ${START_TIMEOUT_MS} ms:\n${output()}`);
    }
    const ready = await fetch(new URL("/ready", url)).then(
      async (res) => {
        await res.arrayBuffer();
        return res.status === 200;
      },
      () => false,
    );
    if (ready) return { url, output, stop };
    await sleep(25);
  }
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>) {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  }
  return exited;
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
