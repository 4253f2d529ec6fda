import postgres from "postgres";
import { afterAll, beforeAll } from "vitest";
import { LOCAL_POSTGRES } from "./database";

/**
 * An empty, unmigrated database on the test server (TEST_DATABASE_URL's, else the local one),
 * created before the surrounding describe's tests and dropped after them: for the scripts that
 * must find nothing there (migrate, seed on a never-migrated database, drizzle-kit).
 */
export function scratchDatabase(prefix: string) {
  const name = `${prefix}_${Date.now().toString(36)}`;
  const base = new URL(process.env.TEST_DATABASE_URL ?? LOCAL_POSTGRES);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const admin = postgres(base.toString(), { max: 1, onnotice: () => {} });
  beforeAll(() => admin.unsafe(`CREATE DATABASE "${name}"`));
  afterAll(async () => {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });
  return { name, url };
}
