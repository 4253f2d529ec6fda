import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, ROOT } from "../support/processes";
import { npmRun, run } from "../support/project-dir";
import { scratchDatabase } from "../support/scratch-database";

/** How many migrations drizzle/ holds: both migrators record each one they apply. */
const journalEntries = (
  JSON.parse(readFileSync(join(ROOT, "drizzle/meta/_journal.json"), "utf8")) as {
    entries: unknown[];
  }
).entries.length;

const APP_TABLES = ["password_reset_tokens", "refresh_tokens", "sessions", "users"];

// Run in this checkout, as a user types them. DATABASE_URL and PGLITE_DIR are always given
// (empty counts as unset), so a .env in the checkout cannot redirect them.
const drizzleKit = (env: Record<string, string>) =>
  run(ROOT, "npx", ["drizzle-kit", "migrate"], env);
const npmMigrate = (env: Record<string, string>) => npmRun("db:migrate", env);

describe("npx drizzle-kit migrate with DATABASE_URL", () => {
  const { name, url: target } = scratchDatabase("kit");

  it("migrates that database, in the journal npm run db:migrate uses", async () => {
    const env = { DATABASE_URL: target.toString(), PGLITE_DIR: "" };
    const kit = await drizzleKit(env);
    expect(kit.code, kit.stdout + kit.stderr).toBe(0);
    expect(kit.stdout).toContain(`Database: Postgres at ${target.hostname}:${target.port}/${name}`);

    const sql = postgres(target.toString(), { max: 1, onnotice: () => {} });
    try {
      const tables = await sql`select tablename from pg_tables where schemaname = 'public'`;
      expect(tables.map((t) => t.tablename)).toEqual(expect.arrayContaining(APP_TABLES));
      const applied = async () =>
        (await sql`select count(*)::int as n from drizzle.__drizzle_migrations`)[0]?.n;
      expect(await applied()).toBe(journalEntries);

      const again = await npmMigrate(env);
      expect(again.code, again.stderr).toBe(0);
      expect(await applied()).toBe(journalEntries);
    } finally {
      await sql.end();
    }
  });

  it("says where it failed when the database does not answer, never a silent exit 1", async () => {
    const port = await freePort();
    const kit = await drizzleKit({
      DATABASE_URL: `postgres://someone:hunter2-secret@127.0.0.1:${port}/nowhere`,
      PGLITE_DIR: "",
    });
    expect(kit.code).toBe(1);
    expect(kit.stderr).toContain(
      `drizzle-kit migrate failed on Postgres at 127.0.0.1:${port}/nowhere; it may not say why. ` +
        "`npm run db:migrate` applies the same migrations and prints the error.",
    );
    expect(kit.stdout + kit.stderr).not.toContain("hunter2-secret");
  });
});

describe("npx drizzle-kit migrate without DATABASE_URL", () => {
  let parent = "";
  let dir = "";
  beforeAll(() => {
    parent = mkdtempSync(join(tmpdir(), "kit-pglite-"));
    // A directory whose parents do not exist yet, as `.data/pglite` in a fresh clone.
    dir = join(parent, "data", "pglite");
  });
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  it("migrates the embedded database the app uses (PGLITE_DIR), in the same journal", async () => {
    const env = { DATABASE_URL: "", PGLITE_DIR: dir };
    const kit = await drizzleKit(env);
    expect(kit.code, kit.stdout + kit.stderr).toBe(0);
    expect(kit.stdout).toContain(
      `Database: the embedded PGlite database in ${dir} (DATABASE_URL is unset)`,
    );

    const applied = async () => {
      const db = await PGlite.create(dir);
      try {
        const tables = await db.query<{ tablename: string }>(
          "select tablename from pg_tables where schemaname = 'public'",
        );
        expect(tables.rows.map((t) => t.tablename)).toEqual(expect.arrayContaining(APP_TABLES));
        const count = await db.query<{ n: number }>(
          "select count(*)::int as n from drizzle.__drizzle_migrations",
        );
        return count.rows[0]?.n;
      } finally {
        await db.close();
      }
    };
    expect(await applied()).toBe(journalEntries);

    // The app's own migrator sees nothing left to do.
    const again = await npmMigrate(env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`Migrations applied (${dir}).`);
    expect(await applied()).toBe(journalEntries);
    // drizzle-kit creates the embedded database itself (initdb in WebAssembly, three processes in
    // all): about 20 s alone on 2 cores, more beside other test files.
  }, 120_000);
});
