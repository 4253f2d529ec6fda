import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessions } from "../../src/db/schema";
import { claimsOf } from "../support/auth-helpers";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { createTestApi } from "../support/node-api";
import { type NodeServer, startNodeServer } from "../support/node-server";
import { npmRun } from "../support/project-dir";
import { SEEDED_LIVE, SEEDED_STALE, seededKeys, seedPruneRows } from "../support/prune-fixtures";
import type { TokenPair } from "../support/session-helpers";
import { TEST_JWT_SECRET } from "../support/test-env";

// The prune as it runs outside tests' in-process apps: the periodic job of the real Node server
// (`npm start`) and `npm run db:prune`, on the system clock.

/** Waits (up to 15 s) until `check` holds. */
async function eventually(check: () => Promise<boolean>, what: string) {
  for (let waited = 0; waited < 15_000; waited += 50) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`never happened: ${what}`);
}

describe("the Node server prunes every PRUNE_INTERVAL_MS", () => {
  let database: TestDatabase;
  let server: NodeServer;
  beforeAll(async () => {
    database = await createTestDatabase({ needsServer: true });
    server = await startNodeServer({
      NODE_ENV: "test",
      DATABASE_URL: database.url as string,
      JWT_SECRET_KEY: TEST_JWT_SECRET,
      PRUNE_INTERVAL_MS: "200",
    });
  });
  afterAll(async () => {
    await server?.stop();
    await database.drop();
  });

  const post = async (path: string, body: unknown) =>
    fetch(new URL(path, server.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("deletes the stale rows, keeps the live ones, and a live session still refreshes", async () => {
    const user = { username: "pruned_user", password: "a long enough secret" };
    const registered = await post("/api/user/register", {
      ...user,
      first_name: "P",
      last_name: "U",
      email: "pruned@example.com",
    });
    expect(registered.status).toBe(201);
    const loginPair = async () => {
      const res = await post("/api/user/login", user);
      expect(res.status).toBe(200);
      return (await res.json()) as TokenPair;
    };
    const [ended, live] = [await loginPair(), await loginPair()];
    expect((await post("/api/user/logout", { refresh_token: ended.refresh_token })).status).toBe(
      200,
    );
    const endedId = claimsOf(ended.access_token).sid as string;
    await database.db
      .update(sessions)
      .set({ revokedAt: sql`now() - interval '1 hour'` })
      .where(eq(sessions.id, endedId));
    const [row] = await database.db
      .select({ id: sessions.userId })
      .from(sessions)
      .where(eq(sessions.id, endedId));
    await seedPruneRows(database.db, row?.id as number);

    await eventually(
      async () => JSON.stringify(await seededKeys(database.db)) === JSON.stringify(SEEDED_LIVE),
      "the seeded stale rows go",
    );
    await eventually(
      async () =>
        (await database.db.select().from(sessions).where(eq(sessions.id, endedId))).length === 0,
      "the ended session goes",
    );
    expect((await post("/api/user/refresh", { refresh_token: live.refresh_token })).status).toBe(
      200,
    );
    await server.stop();
    expect(server.output()).toContain('"msg":"pruned stale rows"');
    expect(server.output()).not.toContain("prune failed");
  });
});

/** The lines db:prune prints for these counts. */
const report = (where: string, counts: Record<string, number>) =>
  [`Pruned (${where}):`, ...Object.entries(counts).map(([k, n]) => `  ${k}: ${n}`), ""].join("\n");

describe("npm run db:prune", () => {
  it("on DATABASE_URL deletes exactly the stale rows and prints the counts; again, nothing", async () => {
    const database = await createTestDatabase({ needsServer: true });
    try {
      const api = await createTestApi({ database });
      const user = await api.createUser();
      await seedPruneRows(database.db, (await api.userRow(user.username))?.id as number);
      const env = { DATABASE_URL: database.url as string };

      const first = await npmRun("db:prune", env);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toBe(report("DATABASE_URL", SEEDED_STALE));
      expect(await seededKeys(database.db)).toEqual(SEEDED_LIVE);

      const second = await npmRun("db:prune", env);
      expect(second.code, second.stderr).toBe(0);
      const none = Object.fromEntries(Object.keys(SEEDED_STALE).map((k) => [k, 0]));
      expect(second.stdout).toBe(report("DATABASE_URL", none));
      expect(await seededKeys(database.db)).toEqual(SEEDED_LIVE);
    } finally {
      await database.drop();
    }
  });

  it("uses the embedded database in PGLITE_DIR when DATABASE_URL is unset", async () => {
    const dir = mkdtempSync(join(tmpdir(), "prune-pglite-"));
    try {
      const run = await npmRun("db:prune", { DATABASE_URL: "", PGLITE_DIR: dir });
      expect(run.code, run.stderr).toBe(0);
      const none = Object.fromEntries(Object.keys(SEEDED_STALE).map((k) => [k, 0]));
      expect(run.stdout).toBe(report(dir, none));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
