import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config";
import { type Database, selectRows } from "../../src/db/database";
import { startPruneJob } from "../../src/node/prune-job";
import type { PruneDeps } from "../../src/prune";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { TestClock } from "../support/fakes";
import { testEnv } from "../support/test-env";

// The periodic prune of the Node process (src/node/prune-job.ts), on a short interval.

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());
afterEach(async () => {
  vi.restoreAllMocks();
  await database.db.execute(sql`truncate rate_limits`);
});

const deps = (env: Record<string, string>, db: Database = database.db): PruneDeps => ({
  db,
  config: loadConfig(testEnv(env)).config,
  clock: new TestClock(),
});

let stale = 0;
/** A rate-limit counter whose window ended long ago; returns its key. */
async function staleCounter() {
  const key = `LOGIN:stale-${++stale}`;
  await database.db.execute(
    sql`insert into rate_limits values (${key}, '2020-01-01T00:00:00Z'::timestamptz, 1)`,
  );
  return key;
}

async function exists(key: string) {
  const rows = await selectRows(database.db, sql`select 1 from rate_limits where key = ${key}`);
  return rows.length > 0;
}

/** Waits (up to 10 s) until the counter is gone. */
async function untilPruned(key: string) {
  for (let waited = 0; waited < 10_000; waited += 20) {
    if (!(await exists(key))) return;
    await sleep(20);
  }
  throw new Error(`${key} was never pruned`);
}

/** The JSON lines a console method was called with. */
const jsonLines = (spy: { mock: { calls: unknown[][] } }) =>
  spy.mock.calls.flatMap(([line]) => {
    try {
      return [JSON.parse(String(line)) as Record<string, unknown>];
    } catch {
      return [];
    }
  });

/** A database whose first `count` statements fail as a dropped connection does. */
function failingAtFirst(db: Database, count: number): Database {
  let failures = 0;
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === "execute" && failures < count) {
        return async () => {
          failures++;
          const cause = Object.assign(new Error("terminating connection"), { code: "57P01" });
          throw new Error("Failed query: delete from ... params: 2020-01-01", { cause });
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

describe("the prune job", () => {
  it("runs every PRUNE_INTERVAL_MS and logs its counts, until stopped", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const stop = startPruneJob(deps({ PRUNE_INTERVAL_MS: "50" }));
    try {
      await untilPruned(await staleCounter());
      await untilPruned(await staleCounter());
    } finally {
      await stop();
    }
    const entries = jsonLines(log).filter((e) => e.msg === "pruned stale rows");
    expect(entries.length).toBeGreaterThanOrEqual(2);
    expect(entries[0]).toEqual({
      level: "info",
      msg: "pruned stale rows",
      refreshTokens: 0,
      sessions: 0,
      resetTokens: 0,
      loginThrottles: 0,
      rateLimits: 1,
      mfaChallenges: 0,
    });
    // Stopped: no run follows.
    const key = await staleCounter();
    await sleep(300);
    expect(await exists(key)).toBe(true);
  });

  it("logs a failed run by its cause, without the query, and the next run still comes", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const key = await staleCounter();
    const stop = startPruneJob(deps({ PRUNE_INTERVAL_MS: "50" }, failingAtFirst(database.db, 1)));
    try {
      await untilPruned(key);
    } finally {
      await stop();
    }
    const failures = jsonLines(error).filter((e) => e.msg === "prune failed");
    expect(failures).toEqual([
      {
        level: "error",
        msg: "prune failed",
        error: "Error",
        code: "57P01",
        message: "terminating connection",
      },
    ]);
    expect(JSON.stringify(error.mock.calls)).not.toContain("params");
  });

  it("stop waits for the run in progress, which ends after its current batch", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const key = await staleCounter();
    let statements = 0;
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = new Proxy(database.db, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== "execute") return value;
        return async (...args: unknown[]) => {
          statements++;
          await held;
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      },
    });
    const stop = startPruneJob(deps({ PRUNE_INTERVAL_MS: "20" }, slow));
    while (statements === 0) await sleep(10);
    let stopped = false;
    const stopping = stop().then(() => {
      stopped = true;
    });
    await sleep(100);
    expect(stopped).toBe(false);
    release();
    await stopping;
    // The first batch (refresh tokens) ran; the rate-limit batch never came.
    expect(statements).toBe(1);
    expect(await exists(key)).toBe(true);
  });

  it("PRUNE_INTERVAL_MS=0 never runs", async () => {
    const key = await staleCounter();
    const stop = startPruneJob(deps({ PRUNE_INTERVAL_MS: "0" }));
    await sleep(300);
    await stop();
    expect(await exists(key)).toBe(true);
  });
});

describe("PRUNE_INTERVAL_MS", () => {
  it("defaults to one hour and refuses what is not a whole number of milliseconds from 0", () => {
    expect(loadConfig({}).config.pruneIntervalMs).toBe(3_600_000);
    for (const bad of ["-1", "1.5", "soon", "86400001"]) {
      expect(() => loadConfig({ PRUNE_INTERVAL_MS: bad }), bad).toThrow(/PRUNE_INTERVAL_MS/);
    }
  });
});
