import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { envSchema } from "../../src/config";

// The child processes of the tests and the bench (they import this file too): a free port, an
// environment the shell cannot leak app settings into, and a server started, awaited and stopped.

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The variables `npm run db:seed-admin` reads besides the app's own. */
export const SEED_ADMIN_VARS = ["ADMIN_USERNAME", "ADMIN_EMAIL", "ADMIN_PASSWORD"];

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * This process's environment without any of the app's variables (vitest sets NODE_ENV, a shell may
 * export DATABASE_URL), plus `env`. With `blank` they are set empty instead of removed: the app
 * reads empty as unset, and an empty variable still wins over a `.env` in the working directory.
 */
export function appFreeEnv(
  env: Record<string, string> = {},
  { blank = false }: { blank?: boolean } = {},
): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [...Object.keys(envSchema.shape), ...SEED_ADMIN_VARS]) {
    if (blank) clean[name] = "";
    else delete clean[name];
  }
  return { ...clean, ...env };
}

/** A child process, its output kept as it comes. */
export type ChildRun = {
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr interleaved as they came. */
  output(): string;
  /**
   * Sends `signal` (SIGTERM by default) to the process, or to its whole group when started
   * `detached`, then SIGKILL after `graceMs`; resolves with the exit code.
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
};

export type RunOptions = {
  /** The working directory; the repository root by default. */
  cwd?: string;
  /** Its own process group, stopped as one (for `npm start`: npm runs the server as its child). */
  detached?: boolean;
  /** How much of each stream is kept (its tail); 1 MiB by default. */
  outputKept?: number;
};

/** Runs `command args` with exactly `env` (appFreeEnv builds one the shell cannot leak into). */
export function runCommand(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  { cwd = ROOT, detached = false, outputKept = 1024 * 1024 }: RunOptions = {},
): ChildRun {
  const child = spawn(command, args, { cwd, env, detached, stdio: ["ignore", "pipe", "pipe"] });
  let [stdout, stderr, output] = ["", "", ""];
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout = (stdout + chunk.toString()).slice(-outputKept);
    output = (output + chunk.toString()).slice(-outputKept);
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-outputKept);
    output = (output + chunk.toString()).slice(-outputKept);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const group = -(child.pid as number);
  const alive = () => {
    if (!detached) return child.exitCode === null && child.signalCode === null;
    try {
      process.kill(group, 0);
      return true;
    } catch {
      return false;
    }
  };
  const send = (signal: NodeJS.Signals) => {
    try {
      if (detached) process.kill(group, signal);
      else child.kill(signal);
    } catch {
      // Already gone.
    }
  };
  // A group is waited for whole: what npm started may outlive npm itself.
  const stop = async (signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000) => {
    if (alive()) send(signal);
    const deadline = Date.now() + graceMs;
    while (alive() && Date.now() < deadline) await sleep(25);
    if (alive()) send("SIGKILL");
    return exited;
  };
  return {
    child,
    pid: child.pid as number,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    output: () => output,
    stop,
  };
}

/** A server started by startServer, answering on `url`. */
export type StartedServer = ChildRun & {
  url: URL;
  port: number;
  /** Milliseconds from spawn to the first 200 from the ready path. */
  startupMs: number;
};

export type ServerOptions = RunOptions & {
  /** The command; `node` (this very Node) by default. */
  command?: string;
  args: string[];
  /** Set on the app-free environment; PORT is added (a free port) unless `announced` is given. */
  env: Record<string, string>;
  /** Set the app's variables empty rather than remove them (see appFreeEnv). */
  blankAppEnv?: boolean;
  /** Where the port is read from the output when the server picks it (a .env, say). */
  announced?: RegExp;
  /** Polled until it answers 200; /ready by default. */
  readyPath?: string;
  timeoutMs?: number;
  /** Between polls; short when the start-up time is what is measured. */
  pollMs?: number;
};

/** Starts a server and waits until its ready path answers 200; stops it and throws if it never does. */
export async function startServer(options: ServerOptions): Promise<StartedServer> {
  const { command = process.execPath, args, announced, readyPath = "/ready" } = options;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const env = announced ? options.env : { ...options.env, PORT: String(await freePort()) };
  const started = performance.now();
  const run = runCommand(command, args, appFreeEnv(env, { blank: options.blankAppEnv }), options);
  const name = [command === process.execPath ? "node" : command, ...args].join(" ");
  for (;;) {
    if (run.child.exitCode !== null || run.child.signalCode !== null) {
      const status = run.child.exitCode ?? run.child.signalCode;
      await run.stop("SIGKILL");
      throw new Error(`${name} exited (${status}) before it was ready:\n${run.output()}`);
    }
    if (performance.now() - started > timeoutMs) {
      await run.stop("SIGKILL");
      throw new Error(`${name} was not ready within ${timeoutMs} ms:\n${run.output()}`);
    }
    const port = Number(announced ? announced.exec(run.output())?.[1] : env.PORT);
    if (port) {
      const url = new URL(`http://127.0.0.1:${port}`);
      if (await answers200(new URL(readyPath, url))) {
        return { ...run, url, port, startupMs: performance.now() - started };
      }
    }
    await sleep(options.pollMs ?? 25);
  }
}

const answers200 = (url: URL) =>
  fetch(url).then(
    async (res) => {
      await res.arrayBuffer();
      return res.status === 200;
    },
    () => false,
  );
