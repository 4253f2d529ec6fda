import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appFreeEnv, ROOT, type StartedServer, startServer } from "./processes";

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

export type Run = { code: number; stdout: string; stderr: string };

/**
 * Runs `command args` in `cwd` as a user would type it, with `env` on an app-free environment (so
 * a `.env` in `cwd` is read), and waits for it to end.
 */
export function run(
  cwd: string,
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: appFreeEnv(env) }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
    });
  });
}

/** `npm run <script>` in this checkout, as `run` runs a command. */
export const npmRun = (script: string, env: Record<string, string> = {}, args: string[] = []) =>
  run(ROOT, "npm", ["run", "--silent", script, ...(args.length ? ["--", ...args] : [])], env);

/**
 * Runs `npm start` in `cwd` and waits until the server announces its port (the one of `env` or of
 * the `.env` there) and /ready answers 200. npm runs the server in a child of its own, so both
 * are started as one process group and stopped together.
 */
export const npmStart = (cwd: string, env: Record<string, string> = {}): Promise<StartedServer> =>
  startServer({
    command: "npm",
    args: ["start", "--silent"],
    cwd,
    env,
    detached: true,
    announced: /User API on http:\/\/localhost:(\d+)/,
  });
