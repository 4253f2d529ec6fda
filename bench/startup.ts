import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { call, login } from "./api-client";
import { cpuSeconds } from "./cpu";
import { runLoad } from "./load";
import { memoryOf, ROOT, startApi } from "./processes";
import { median, sleep } from "./stats";
import { readUser } from "./workloads";

export type StartupResult = {
  /** Milliseconds from spawning scripts/start.mjs (bundle current) to the first 200 from /ready. */
  postgresMs: number;
  embeddedExistingMs: number;
  embeddedFreshMs: number;
  /** The compile step alone (`node scripts/build-node.mjs`), paid by a start after a change. */
  buildMs: number;
  /** An existing embedded database, 2 s after /ready: RSS and the peak so far (VmHWM), MB. */
  embeddedIdleRssMB: number;
  embeddedStartPeakMB: number;
  /** The same for a new, empty PGLITE_DIR (PGlite runs initdb, the app migrates). */
  embeddedFreshRssMB: number;
  embeddedFreshPeakMB: number;
  /** The same with V8's optimising WebAssembly tier allowed (`--no-liftoff-only`), once. */
  tierUpStartPeakMB: number;
  /** W1 on the embedded database, as `npm start` runs it and with the optimising tier. */
  embeddedW1: { liftoff: EmbeddedRead; tierUp: EmbeddedRead };
};

export type EmbeddedRead = { rps: number; p50: number; cpuUs: number };

/** W1 on an embedded API: one account registered and logged in, a warm-up run, a measured one. */
async function embeddedRead(url: string, pid: number, duration: number): Promise<EmbeddedRead> {
  const account = {
    username: "bench_embedded",
    email: "bench_embedded@example.com",
    password: "a long bench password 42",
  };
  await call(url, "POST", "/api/user/register", {
    expect: 201,
    body: { ...account, first_name: "Bench", last_name: "Embedded" },
  }).catch(() => {});
  const token = (await login(url, account)).access;
  const run = () =>
    runLoad({ url, connections: 10, duration, requests: readUser(account.username, token) });
  await run();
  const before = cpuSeconds(pid);
  const result = await run();
  const cpuUs = ((cpuSeconds(pid) - before) * 1e6) / Math.max(1, result.ok + result.failed);
  return { rps: result.rps, p50: result.p50, cpuUs };
}

/** An embedded start: its time to /ready, and its memory 2 s later (RSS and VmHWM, MB). */
type SettledStart = { startupMs: number; rssMB: number; peakMB: number };

/** Starts the API on `env`, reads its memory 2 s after /ready, and stops it. */
async function startAndSettle(env: Record<string, string>): Promise<SettledStart> {
  const server = await startApi(env);
  await sleep(2000);
  const { rssMB, peakMB } = memoryOf(server.pid);
  await server.stop();
  return { startupMs: server.startupMs, rssMB, peakMB };
}

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
  duration: number,
  lastPostgresStart: () => Promise<number>,
): Promise<StartupResult> {
  const fresh: SettledStart[] = [];
  const existing: SettledStart[] = [];
  const postgres: number[] = [];
  const builds: number[] = [];
  // Every start below finds the bundle current, as any start but the first after a change does.
  await promisify(execFile)(process.execPath, ["scripts/build-node.mjs"], { cwd: ROOT });
  for (let round = 0; round < rounds; round++) {
    const dir = mkdtempSync(join(tmpdir(), "bench-pglite-"));
    try {
      const embedded = { ...env, DATABASE_URL: "", PGLITE_DIR: dir };
      // A new empty directory: PGlite initialises it and the app migrates it.
      fresh.push(await startAndSettle(embedded));
      // The same directory again: a database that was started once before.
      existing.push(await startAndSettle(embedded));
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
  // The embedded database's read with and without the optimising tier, on one directory.
  const dir = mkdtempSync(join(tmpdir(), "bench-pglite-"));
  let tierUpStartPeakMB: number;
  let embeddedW1: StartupResult["embeddedW1"];
  try {
    const embedded = { ...env, DATABASE_URL: "", PGLITE_DIR: dir };
    await timed(() => startApi(embedded));
    const tierUp = await startApi(embedded, ["--no-liftoff-only"]);
    await sleep(2000);
    tierUpStartPeakMB = memoryOf(tierUp.pid).peakMB;
    const tierUpRead = await embeddedRead(tierUp.url, tierUp.pid, duration);
    await tierUp.stop();
    const liftoff = await startApi(embedded);
    const liftoffRead = await embeddedRead(liftoff.url, liftoff.pid, duration);
    await liftoff.stop();
    embeddedW1 = { liftoff: liftoffRead, tierUp: tierUpRead };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  postgres.push(await lastPostgresStart());
  return {
    embeddedIdleRssMB: median(existing.map((start) => start.rssMB)),
    embeddedStartPeakMB: median(existing.map((start) => start.peakMB)),
    embeddedFreshRssMB: median(fresh.map((start) => start.rssMB)),
    embeddedFreshPeakMB: median(fresh.map((start) => start.peakMB)),
    tierUpStartPeakMB,
    embeddedW1,
    postgresMs: median(postgres),
    embeddedExistingMs: median(existing.map((start) => start.startupMs)),
    embeddedFreshMs: median(fresh.map((start) => start.startupMs)),
    buildMs: median(builds),
  };
}
