import { appFreeEnv, runCommand, type StartedServer, startServer } from "./processes";

/** The Node server as `npm start` runs it (scripts/start.mjs: the compiled src/node.ts). */
export type NodeServer = StartedServer;

/**
 * Starts `node scripts/start.mjs` on this same Node and a free port, with `env` on an environment
 * cleared of every app variable (a DATABASE_URL in the shell cannot reach it), and waits until
 * GET /ready answers 200.
 */
export const startNodeServer = (
  env: Record<string, string>,
  options: { outputKept?: number } = {},
): Promise<NodeServer> => startServer({ args: ["scripts/start.mjs"], env, ...options });

/** The same server, not awaited: for a start-up that is meant to fail. */
export const spawnNodeServer = (env: Record<string, string>) =>
  runCommand(process.execPath, ["scripts/start.mjs"], appFreeEnv(env));

/** `node <args>` on this same Node, from the repository root, with `env` as spawnNodeServer. */
export const runNode = (args: string[], env: Record<string, string>) =>
  runCommand(process.execPath, args, appFreeEnv(env));

/** The JSON lines of `output`; other lines (the start-up banner) are left out. */
export function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
