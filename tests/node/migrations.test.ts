import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_FOLDER } from "../../src/node/database";
import { PGLITE_EXTENSIONS } from "../../src/node/pglite-extensions";

// Migrations meet databases that already hold data; these run each file as drizzle's migrator
// would, on data left by the migrations before it.

const migrations = readdirSync(MIGRATIONS_FOLDER)
  .filter((name) => name.endsWith(".sql"))
  .sort();

/** Runs the migrations from `first` up to and including `last`. */
async function migrate(db: PGlite, first: string, last: string) {
  for (const name of migrations.filter((m) => m >= first && m <= last)) {
    const text = readFileSync(join(MIGRATIONS_FOLDER, name), "utf8");
    for (const statement of text.split("--> statement-breakpoint")) {
      if (statement.trim()) await db.exec(statement);
    }
  }
}

let db: PGlite;
beforeAll(async () => {
  db = await PGlite.create();
});
afterAll(() => db.close());

describe("0002: one reset token per account", () => {
  it("keeps only each account's newest token, then refuses a second one", async () => {
    await migrate(db, "0000", "0001_sessions_and_throttling.sql");
    const { rows } = await db.query<{ id: number }>(
      `insert into users (username, email, first_name, last_name, password_hash, created_at, updated_at)
       values ('a', 'a@example.com', 'A', 'A', 'x', now(), now()),
              ('b', 'b@example.com', 'B', 'B', 'x', now(), now())
       returning id`,
    );
    const [a, b] = rows.map((row) => row.id);
    // Two live tokens for one account: what a race in the old issuing could leave.
    await db.query(
      `insert into password_reset_tokens (token_hash, user_id, created_at, expires_at) values
         ('a-old', $1, now() - interval '2 minutes', now() + interval '1 hour'),
         ('a-new', $1, now() - interval '1 minute', now() + interval '1 hour'),
         ('b-only', $2, now() - interval '3 minutes', now() + interval '1 hour')`,
      [a, b],
    );

    await migrate(db, "0002", "0002_one_reset_token_per_account.sql");

    const left = await db.query<{ token_hash: string }>(
      "select token_hash from password_reset_tokens order by token_hash",
    );
    expect(left.rows.map((row) => row.token_hash)).toEqual(["a-new", "b-only"]);
    await expect(
      db.query(
        `insert into password_reset_tokens (token_hash, user_id, created_at, expires_at)
         values ('a-third', $1, now(), now() + interval '1 hour')`,
        [a],
      ),
    ).rejects.toMatchObject({ code: "23505" });
  });
});

describe("0003: the admin search", () => {
  it("fills search_text for the accounts already there, and keeps it current", async () => {
    const own = await PGlite.create({ extensions: PGLITE_EXTENSIONS });
    try {
      await migrate(own, "0000", "0002_one_reset_token_per_account.sql");
      await own.query(
        `insert into users (username, email, first_name, last_name, password_hash, created_at, updated_at)
         values ('Old_Timer', 'Old.Timer@Example.com', 'Zoë', 'Ünal', 'x', now(), now())`,
      );
      await migrate(own, "0003", "0003_user_search.sql");
      const text = async () =>
        (await own.query<{ search_text: string }>("select search_text from users")).rows;
      expect(await text()).toEqual([
        { search_text: "old_timer\u001fold.timer@example.com\u001fzoë\u001fünal" },
      ]);
      await own.query("update users set last_name = 'Lovelace'");
      expect(await text()).toEqual([
        { search_text: "old_timer\u001fold.timer@example.com\u001fzoë\u001flovelace" },
      ]);
    } finally {
      await own.close();
    }
  });
});
