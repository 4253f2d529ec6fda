import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import type { Database } from "../db/database";
import { QUERY_DEADLINE_MS, STATEMENT_TIMEOUT_MS, withDeadline } from "../db/postgres-deadline";
import { preparedByDefault } from "../db/postgres-prepared";
import * as schema from "../db/schema";
import { DirectoryInUseError, lockDirectory } from "./directory-lock";
import { PGLITE_EXTENSIONS } from "./pglite-extensions";
import { renewablePool } from "./renewable-pool";

/**
 * Postgres settings for the embedded database. PGlite's default shared_buffers (128MB) was most of
 * an idle server's memory; 16MB (2,048 pages) still holds this service's working set (a few tables
 * and their indexes), and the operating system's file cache keeps what falls out. Appended to
 * PGlite's own start parameters, which `startParams` would otherwise replace.
 */
export const PGLITE_START_PARAMS = [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB"];

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../drizzle", import.meta.url));

/** An open database with the means to check and close it. */
export type OpenDatabase = {
  db: Database;
  kind: "postgres" | "pglite";
  migrate(): Promise<void>;
  close(): Promise<void>;
};

/** postgres.js pool whose every query answers, or fails as unavailable, within QUERY_DEADLINE_MS. */
export function openPostgres(url: string, options: { max?: number } = {}): OpenDatabase {
  const pool = renewablePool(
    () =>
      postgres(url, {
        max: options.max ?? 10,
        connect_timeout: 3,
        idle_timeout: 60,
        // The default backoff grows to 20 s between reconnects after repeated failures, which
        // would keep the service down long after the database is back.
        backoff: (retries) => Math.min(0.05 * 2 ** retries, 1),
        // postgres.js looks up array types on each new connection, in a query whose failure
        // nothing awaits: a connection refused at that moment (a database outage) became an
        // unhandled rejection, which ends a Node process. Drizzle parses the one array column
        // (audit_log.fields) itself, as on Workers; this also saves a round trip per connection.
        fetch_types: false,
        connection: { statement_timeout: STATEMENT_TIMEOUT_MS },
        onnotice: () => {},
      }),
    QUERY_DEADLINE_MS,
  );
  const client = pool.client;
  const bounded = withDeadline(preparedByDefault(client), QUERY_DEADLINE_MS, pool.renew);
  const db = drizzlePostgres(bounded, { schema });
  return {
    db,
    kind: "postgres",
    // Migrations may rightly take longer than a request: no deadline, no statement_timeout.
    async migrate() {
      // statement_timeout 0 also overrides a role's setting (docs/workers.md, production steps).
      const own = postgres(url, {
        max: 1,
        connect_timeout: 3,
        connection: { statement_timeout: 0 },
        onnotice: () => {},
      });
      try {
        await migratePostgres(drizzlePostgres(own, { schema }), {
          migrationsFolder: MIGRATIONS_FOLDER,
        });
      } finally {
        await own.end({ timeout: 5 });
      }
    },
    close: pool.close,
  };
}

/**
 * Embedded Postgres (PGlite) in `dir`, or in memory when `dir` is undefined; always migrated.
 * `dir` is locked while open: two processes on one directory each see only their own writes and
 * lose them (DirectoryInUseError for the second). A process that loses its lock stops at once.
 */
export async function openPglite(dir: string | undefined): Promise<OpenDatabase> {
  if (dir) mkdirSync(dir, { recursive: true });
  const lock = dir ? lockDirectory(dir, exitOnLostLock(dir)) : undefined;
  try {
    const client = await PGlite.create(dir, {
      extensions: PGLITE_EXTENSIONS,
      startParams: PGLITE_START_PARAMS,
    });
    const db = drizzlePglite(client, { schema });
    const migrate = () => migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
    await migrate();
    return {
      db,
      kind: "pglite",
      migrate,
      close: () => client.close().finally(() => lock?.release()),
    };
  } catch (error) {
    lock?.release();
    throw error;
  }
}

/** Going on would write beside another process that now believes it has the directory alone. */
const exitOnLostLock = (dir: string) => (reason: string) => {
  console.error(`PGLITE_DIR ${dir}: ${reason}. Stopping: another process may be using it.`);
  process.exit(1);
};

/** DATABASE_URL when set, else the embedded database in PGLITE_DIR. */
export const openDatabase = (config: { databaseUrl?: string; pgliteDir: string }) =>
  config.databaseUrl
    ? Promise.resolve(openPostgres(config.databaseUrl))
    : openPglite(config.pgliteDir);

/** openDatabase, or an exit with a message when another process holds PGLITE_DIR. */
export async function openDatabaseOrExit(config: { databaseUrl?: string; pgliteDir: string }) {
  try {
    return await openDatabase(config);
  } catch (error) {
    if (!(error instanceof DirectoryInUseError)) throw error;
    console.error(`PGLITE_DIR ${error.message}`);
    process.exit(1);
  }
}
