import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { envSchema } from "../../src/config";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** What a checkout needs for its npm scripts and drizzle-kit to run. */
const PROJECT_FILES = [
  "package.json",
  "node_modules",
  "scripts",
  "src",
  "drizzle",
  "drizzle.config.ts",
  "tsconfig.json",
];

/**
 * A directory that looks like a checkout of the project (each file a symlink to this one) with
 * `.env` holding `dotEnv` when given: commands run there read that file, never this checkout's
 * own `.env`.
 */
export function projectDir(dotEnv?: string) {
  const dir = mkdtempSync(join(tmpdir(), "project-"));
  for (const file of PROJECT_FILES) symlinkSync(join(ROOT, file), join(dir, file));
  if (dotEnv !== undefined) writeFileSync(join(dir, ".env"), dotEnv);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The variables `npm run db:seed-admin` reads besides the app's own. */
export const SEED_ADMIN_VARS = ["ADMIN_USERNAME", "ADMIN_EMAIL", "ADMIN_PASSWORD"];

/**
 * This process's environment without any of the app's variables (vitest sets NODE_ENV, a shell
 * may export DATABASE_URL), plus `env`.
 */
export function childEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean = { ...process.env };
  for (const name of [...Object.keys(envSchema.shape), ...SEED_ADMIN_VARS]) delete clean[name];
  return { ...clean, ...env };
}

export type Run = { code: number; stdout: string; stderr: string };

/** Runs `command args` in `cwd` as a user would type it, and waits for it to end. */
export function run(
  cwd: string,
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: childEnv(env) }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
    });
  });
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A server started with `npm start`, the port it announced and its output so far. */
export type StartedServer = { port: number; url: string; output(): string; stop(): Promise<void> };

/**
 * Runs `npm start` in `cwd` and waits until the server announces its port and /ready answers
 * 200. npm runs the server in a child of its own, so both are started as one process group
 * and stopped together.
 */
export async function npmStart(
  cwd: string,
  env: Record<string, string> = {},
): Promise<StartedServer> {
  const child = spawn("npm", ["start", "--silent"], {
    cwd,
    env: childEnv(env),
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = () => stopGroup(child, exited);

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`npm start exited:\n${output}`);
    const port = Number(/User API on http:\/\/localhost:(\d+)/.exec(output)?.[1]);
    if (port) {
      const url = `http://127.0.0.1:${port}`;
      const ready = await fetch(`${url}/ready`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) return { port, url, output: () => output, stop };
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`npm start was not ready in time:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** SIGTERM to npm and the server it runs, SIGKILL to what is left of them after 10 s. */
async function stopGroup(child: ChildProcess, exited: Promise<void>) {
  const group = -(child.pid as number);
  const alive = () => {
    try {
      process.kill(group, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(group, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive()) process.kill(group, "SIGKILL");
  await exited;
}
