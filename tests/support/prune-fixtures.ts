import { sql } from "drizzle-orm";
import { type Database, selectRows } from "../../src/db/database";

// Rows for the prune's entry points (the Node job, the Worker's cron, `npm run db:prune`), which
// run on the system clock: stale and live rows of every pruned table, dated from the database's
// now(), with keys that start with `seed-` (hashes are stored as given: they are only keys).

/** What a prune reports after seedPruneRows. */
export const SEEDED_STALE = {
  refreshTokens: 1,
  sessions: 1,
  resetTokens: 1,
  loginThrottles: 1,
  rateLimits: 1,
  mfaChallenges: 1,
};

/** The seeded keys a prune must leave: the live rows, a recently consumed token included. */
export const SEEDED_LIVE = {
  sessions: ["seed-live"],
  refresh_tokens: ["seed-consumed", "seed-current"],
  password_reset_tokens: ["seed-reset-live"],
  login_throttles: ["seed-locked"],
  rate_limits: ["seed-window-live"],
  mfa_challenges: ["seed-mfa-live"],
};

/** Stale and live rows of every pruned table, for the account `userId`. */
export async function seedPruneRows(db: Database, userId: number) {
  const ago = (interval: string) => sql.raw(`now() - interval '${interval}'`);
  const ahead = (interval: string) => sql.raw(`now() + interval '${interval}'`);
  await db.execute(sql`insert into sessions
      (id, user_id, token_version, created_at, revoked_at, last_used_at)
    select 'seed-ended', id, token_version, ${ago("2 hours")}, ${ago("1 hour")}, ${ago("2 hours")}
      from users where id = ${userId}
    union all select 'seed-live', id, token_version, ${ago("2 hours")}, null, ${ago("1 hour")}
      from users where id = ${userId}`);
  await db.execute(sql`insert into refresh_tokens
      (token_hash, session_id, created_at, expires_at, consumed_at)
    values ('seed-of-ended', 'seed-ended', ${ago("2 hours")}, ${ahead("29 days")}, null),
      ('seed-consumed', 'seed-live', ${ago("2 hours")}, ${ahead("29 days")}, ${ago("1 hour")}),
      ('seed-current', 'seed-live', ${ago("1 hour")}, ${ahead("29 days")}, null)`);
  // An account holds one reset token at most: the stale one belongs to an account of its own.
  await db.execute(sql`with other as (
      insert into users (username, email, first_name, last_name, password_hash, created_at, updated_at)
      values ('seed_reset_other', 'seed_reset_other@example.com', 'Seed', 'Other', 'x', now(), now())
      returning id
    )
    insert into password_reset_tokens (token_hash, user_id, expires_at, created_at)
    select 'seed-reset-stale', id, ${ago("1 hour")}, ${ago("2 hours")} from other
    union all select 'seed-reset-live', ${userId}, ${ahead("20 minutes")}, ${ago("10 minutes")}`);
  await db.execute(sql`insert into login_throttles (key, failures, locked_until, updated_at)
    values ('seed-old', 3, null, ${ago("2 days")}),
      ('seed-locked', 5, ${ahead("1 minute")}, now())`);
  await db.execute(sql`insert into rate_limits (key, window_start, count)
    values ('seed-window-old', ${ago("1 hour")}, 3), ('seed-window-live', now(), 3)`);
  await db.execute(sql`insert into mfa_challenges
      (token_hash, user_id, token_version, login, failures, created_at, expires_at)
    values ('seed-mfa-old', ${userId}, 0, 'seed', 0, ${ago("2 hours")}, ${ago("1 hour")}),
      ('seed-mfa-live', ${userId}, 0, 'seed', 0, now(), ${ahead("5 minutes")})`);
}

/** The seeded keys present, per table. */
export async function seededKeys(db: Database) {
  const keys = (table: string, column: string) =>
    // JSON, which every driver parses (the clients do not look up array types).
    sql.raw(`(select coalesce(json_agg(${column} order by ${column}), '[]'::json) from ${table}
      where ${column} like 'seed-%') as ${table}`);
  const [row] = await selectRows<Record<keyof typeof SEEDED_LIVE, string[]>>(
    db,
    sql`select ${keys("sessions", "id")}, ${keys("refresh_tokens", "token_hash")},
      ${keys("password_reset_tokens", "token_hash")}, ${keys("login_throttles", "key")},
      ${keys("rate_limits", "key")}, ${keys("mfa_challenges", "token_hash")}`,
  );
  return row;
}
