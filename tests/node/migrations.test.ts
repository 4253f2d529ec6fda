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

describe("session_list: what the listing of sessions shows, for the sessions already there", () => {
  const sessionList = migrations.find((name) => name.endsWith("_session_list.sql")) as string;
  const before = migrations[migrations.indexOf(sessionList) - 1] as string;

  it("last use from the newest refresh token or the login; address and agent from the login's entry", async () => {
    const own = await PGlite.create({ extensions: PGLITE_EXTENSIONS });
    try {
      await migrate(own, "0000", before);
      const { rows } = await own.query<{ id: number }>(
        `insert into users (username, email, first_name, last_name, password_hash, created_at, updated_at)
         values ('old', 'old@example.com', 'Old', 'One', 'x', now(), now()) returning id`,
      );
      const user = rows[0]?.id;
      const at = (minutes: number) => new Date(Date.UTC(2026, 11, 1, 12, minutes)).toISOString();
      // refreshed: a login, then two refreshes. changed: a password change's fresh session.
      // ancient: a login older than the audit log. ended: revoked, so never listed again.
      await own.query(
        `insert into sessions (id, user_id, token_version, created_at, revoked_at) values
           ('refreshed', $1, 0, $2, null), ('changed', $1, 0, $3, null),
           ('ancient', $1, 0, $4, null), ('ended', $1, 0, $5, $5)`,
        [user, at(0), at(10), at(20), at(30)],
      );
      await own.query(
        `insert into refresh_tokens (token_hash, session_id, created_at, expires_at) values
           ('r1', 'refreshed', $1, $1::timestamptz + interval '30 days'),
           ('r3', 'refreshed', $3, $3::timestamptz + interval '30 days'),
           ('r2', 'refreshed', $2, $2::timestamptz + interval '30 days'),
           ('c1', 'changed', $4, $4::timestamptz + interval '30 days')`,
        [at(0), at(5), at(7), at(10)],
      );
      await own.query(
        `insert into audit_log (at, action, actor_id, actor_username, target_id, target_username, ip, user_agent, detail)
         values ($2, 'login.succeeded', $1, 'old', $1, 'old', '198.51.100.1', 'Phone/1', null),
                ($3, 'password.changed', $1, 'old', $1, 'old', '198.51.100.2', null, null),
                ($3, 'login.failed', null, null, $1, 'old', '203.0.113.9', 'Attacker/1', 'password'),
                ($4, 'login.succeeded', $1, 'old', $1, 'old', '198.51.100.4', 'Laptop/1', null)`,
        [user, at(0), at(10), at(30)],
      );

      await migrate(own, sessionList, sessionList);

      const migrated = await own.query<Record<string, unknown>>(
        `select id, last_used_at, ip, user_agent from sessions order by created_at`,
      );
      expect(migrated.rows).toEqual([
        {
          id: "refreshed",
          last_used_at: new Date(at(7)),
          ip: "198.51.100.1",
          user_agent: "Phone/1",
        },
        { id: "changed", last_used_at: new Date(at(10)), ip: "198.51.100.2", user_agent: null },
        { id: "ancient", last_used_at: new Date(at(20)), ip: null, user_agent: null },
        { id: "ended", last_used_at: new Date(at(30)), ip: null, user_agent: null },
      ]);
      await expect(
        own.query(
          `insert into sessions (id, user_id, token_version, created_at) values ('new', $1, 0, now())`,
          [user],
        ),
      ).rejects.toMatchObject({ code: "23502" });
    } finally {
      await own.close();
    }
  });
});
