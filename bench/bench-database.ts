import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { openPostgres } from "../src/node/database";

/** The bench's own database on the server of `serverUrl`; `drop()` removes it (idempotent). */
export type BenchDatabase = {
  url: string;
  name: string;
  /** A small pool of its own for seeding and set-up queries. */
  sql: postgres.Sql;
  drop(): Promise<void>;
};

const withServer = async (serverUrl: string, work: (sql: postgres.Sql) => Promise<unknown>) => {
  const sql = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await work(sql);
  } finally {
    await sql.end();
  }
};

/** Creates a fresh database next to `serverUrl` and applies the app's migrations to it. */
export async function createBenchDatabase(serverUrl: string): Promise<BenchDatabase> {
  const name = `bench_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  await withServer(serverUrl, (sql) => sql.unsafe(`CREATE DATABASE "${name}"`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  const sql = postgres(url.toString(), { max: 4, onnotice: () => {} });
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await sql.end({ timeout: 2 }).catch(() => {});
    // FORCE: a child that died mid-run may still hold connections.
    await withServer(serverUrl, (admin) =>
      admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
    );
  };
  try {
    // The app's own migrator, so the schema is exactly what the app runs on.
    const migrator = openPostgres(url.toString(), { max: 1 });
    await migrator.migrate();
    await migrator.close();
  } catch (error) {
    await drop();
    throw error;
  }
  return { url: url.toString(), name, sql, drop };
}

/** `postgres://…` with its host and port replaced (to go through the counting proxy). */
export function viaPort(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = "127.0.0.1";
  u.port = String(port);
  return u.toString();
}
