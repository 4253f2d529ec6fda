import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, selectRows } from "../../src/db/database";
import { users } from "../../src/db/schema";
import { userPageQuery } from "../../src/users/user.store";
import { createTestDatabase, type TestDatabase } from "../support/database";

// The admin search must be served by the trigram index of drizzle/0003_user_search.sql: the
// query has to use the very expression it indexes. With sequential and plain index scans
// priced out, the planner shows whether it can use it at all; on a small table it would
// rightly prefer a sequential scan. (bench/user-search.ts measures the real thing at 100,000.)

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
  const now = new Date();
  await database.db.insert(users).values(
    Array.from({ length: 50 }, (_, i) => ({
      username: `plan_user_${i}`,
      email: `plan_user_${i}@example.com`,
      firstName: `First${i}`,
      lastName: `Last${i}`,
      passwordHash: "not-a-hash",
      createdAt: now,
      updatedAt: now,
    })),
  );
});
afterAll(() => database.drop());

/** The plan of `query` when only bitmap scans are left to choose from. */
async function bitmapPlan(db: Database, query: ReturnType<typeof userPageQuery>) {
  return db.transaction(async (tx) => {
    await tx.execute(sql`set local enable_seqscan = off`);
    await tx.execute(sql`set local enable_indexscan = off`);
    const rows = await selectRows<{ "QUERY PLAN": string }>(tx, sql`explain ${query.getSQL()}`);
    return rows.map((row) => row["QUERY PLAN"]).join("\n");
  });
}

describe("the admin search and its trigram index", () => {
  it("the pg_trgm extension is installed by the migrations", async () => {
    const rows = await selectRows<{ extname: string }>(
      database.db,
      sql`select extname from pg_extension where extname = 'pg_trgm'`,
    );
    expect(rows).toEqual([{ extname: "pg_trgm" }]);
  });

  it.each([
    ["the first page", { afterId: undefined }],
    ["a page after a cursor", { afterId: 10 }],
  ])("%s of a search can use the trigram index, for the rows and for the total", async (_l, at) => {
    const query = userPageQuery(database.db, { q: "user_1" }, { limit: 20, ...at });
    const plan = await bitmapPlan(database.db, query);
    // The count's scan, and the page's unless it walks the primary key from the cursor.
    const scans = plan.split("Bitmap Index Scan on users_search_trgm_idx").length - 1;
    expect(scans, plan).toBeGreaterThanOrEqual(at.afterId === undefined ? 2 : 1);
  });

  it("the search finds what it should through those indexes", async () => {
    const rows = await database.db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_seqscan = off`);
      await tx.execute(sql`set local enable_indexscan = off`);
      return userPageQuery(tx, { q: "R_4@" }, { limit: 20 });
    });
    expect(rows.map((row) => row.user.username)).toEqual(["plan_user_4"]);
    expect(rows[0]?.total).toBe(1);
  });
});
