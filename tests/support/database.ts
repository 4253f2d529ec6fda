import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { type OpenDatabase, openPglite, openPostgres } from "../../src/node/database";

/** Where tests that need a real server (a network to cut, workerd) find one when none is named. */
export const LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres";

/** A migrated database of one test file's own; dropped by `drop()`. */
export type TestDatabase = OpenDatabase & { url?: string; drop(): Promise<void> };

/**
 * A fresh database per test file: a new Postgres database next to TEST_DATABASE_URL when it is
 * set (CI), else an in-memory PGlite, unless the test needs a server (then the local one).
 */
export async function createTestDatabase(
  options: { needsServer?: boolean } = {},
): Promise<TestDatabase> {
  const base = process.env.TEST_DATABASE_URL ?? (options.needsServer ? LOCAL_POSTGRES : undefined);
  if (!base) {
    const open = await openPglite(undefined);
    return { ...open, drop: open.close };
  }
  const name = `t_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  await withAdmin(base, (sql) => sql.unsafe(`CREATE DATABASE "${name}"`));
  const url = new URL(base);
  url.pathname = `/${name}`;
  const open = openPostgres(url.toString(), { max: 20 });
  await open.migrate();
  return {
    ...open,
    url: url.toString(),
    async drop() {
      await open.close();
      await withAdmin(base, (sql) => sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

async function withAdmin(url: string, work: (sql: postgres.Sql) => Promise<unknown>) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await work(sql);
  } finally {
    await sql.end();
  }
}
