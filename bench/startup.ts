import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ROOT, startApi } from "./processes";
import { median } from "./stats";

export type StartupResult = {
  /** Milliseconds from spawning scripts/start.mjs (bundle current) to the first 200 from /ready. */
  postgresMs: number;
  embeddedExistingMs: number;
  embeddedFreshMs: number;
  /** The compile step alone (`node scripts/build-node.mjs`), paid by a start after a change. */
  buildMs: number;
};

const timed = async (start: () => Promise<{ startupMs: number; stop(): Promise<void> }>) => {
  const server = await start();
  await server.stop();
  return server.startupMs;
};

/**
 * Start-up times over `rounds` starts of each kind. The last Postgres start is the caller's: it
 * starts the API it measures with right after (`lastPostgresStart`), which saves a start.
 */
export async function measureStartup(
  databaseUrl: string,
  env: Record<string, string>,
  rounds: number,
  lastPostgresStart: () => Promise<number>,
): Promise<StartupResult> {
  const fresh: number[] = [];
  const existing: number[] = [];
  const postgres: number[] = [];
  const builds: number[] = [];
  // Every start below finds the bundle current, as any start but the first after a change does.
  await promisify(execFile)(process.execPath, ["scripts/build-node.mjs"], { cwd: ROOT });
  for (let round = 0; round < rounds; round++) {
    const dir = mkdtempSync(join(tmpdir(), "bench-pglite-"));
    try {
      const embedded = { ...env, DATABASE_URL: "", PGLITE_DIR: dir };
      // A new empty directory: PGlite initialises it and the app migrates it.
      fresh.push(await timed(() => startApi(embedded)));
      // The same directory again: a database that was started once before.
      existing.push(await timed(() => startApi(embedded)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    if (round < rounds - 1) {
      postgres.push(await timed(() => startApi({ ...env, DATABASE_URL: databaseUrl })));
    }
    const t = performance.now();
    await promisify(execFile)(process.execPath, ["scripts/build-node.mjs"], { cwd: ROOT });
    builds.push(performance.now() - t);
  }
  postgres.push(await lastPostgresStart());
  return {
    postgresMs: median(postgres),
    embeddedExistingMs: median(existing),
    embeddedFreshMs: median(fresh),
    buildMs: median(builds),
  };
}
