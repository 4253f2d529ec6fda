import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, selectRows } from "../../src/db/database";
import { preparedByDefault } from "../../src/db/postgres-prepared";
import * as schema from "../../src/db/schema";
import { users } from "../../src/db/schema";
import { findByUsername, userPageQuery } from "../../src/users/user.store";
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

describe("on a Postgres server", () => {
  let server: TestDatabase;
  let client: postgres.Sql;
  beforeAll(async () => {
    server = await createTestDatabase({ needsServer: true });
    // One connection, so the statements it prepared can be listed.
    client = postgres(server.url as string, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await client.end();
    await server.drop();
  });

  it("the page query runs unprepared, planned for each search, while other queries stay prepared", async () => {
    const db = drizzle(preparedByDefault(client), { schema });
    for (const q of ["user_1", "an", "u12345@"]) {
      await userPageQuery(db, { q }, { limit: 20 });
      await userPageQuery(db, { q, active: true }, { afterId: 3, limit: 5 });
    }
    await findByUsername(db, "someone");
    const prepared = await client<{ statement: string }[]>`
      select statement from pg_prepared_statements`;
    const statements = prepared.map((row) => row.statement);
    expect(statements.some((s) => s.includes(`where lower("users"."username")`))).toBe(true);
    expect(statements.filter((s) => s.includes("like lower("))).toEqual([]);
  });
});
