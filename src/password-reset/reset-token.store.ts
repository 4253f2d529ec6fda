import { and, eq, gt, sql } from "drizzle-orm";
import { auditCte, type Occasion } from "../audit/audit.store";
import { type Database, deleteStaleRows, pruneCutoff, selectRows, sqlTime } from "../db/database";
import { passwordResetTokens, type User, users } from "../db/schema";
import { throttleKey } from "../login/login-throttle.store";
import { emailIs, usernameIs } from "../users/user.store";

// Password-reset tokens, stored only as their SHA-256.

type Issued = {
  username: string | null;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  issued: boolean;
};

/**
 * Issues a reset token to the active account that `email` names (and `username` too, when
 * given: then both must name the same account), unless it
 * was issued one less than `rules.intervalSeconds` ago; the new token replaces (voids) the older
 * one. Returns the account to mail it to, or undefined when nothing was issued.
 *
 * One statement, whatever the input: a pair that names no account costs the same round trip as
 * one that does, so the answer's timing does not tell which pairs match. Its commit does not wait
 * for the disk either (synchronous_commit off for this transaction only), since a flush that only
 * matching pairs pay would show; a token lost in a crash just means asking again. A pair that
 * names an account is recorded in the audit log, with the detail "sent" or, inside the interval,
 * "not_sent"; an unmatched pair is not (its text may be anything).
 */
export async function issueResetToken(
  db: Database,
  pair: { username?: string; email: string },
  tokenHash: string,
  rules: { ttlSeconds: number; intervalSeconds: number },
  occasion: Occasion,
): Promise<{ username: string; email: string; firstName: string; lastName: string } | undefined> {
  const now = occasion.at;
  const account = { id: sql`account.id`, username: sql`account.username` };
  const requested = {
    action: "password_reset.requested",
    target: account,
    detail: sql`case when issued.user_id is null then 'not_sent' else 'sent' end`,
  } as const;
  const time = sqlTime(now);
  const expiresAt = sqlTime(new Date(now.getTime() + rules.ttlSeconds * 1000));
  // One row per account (a unique index), so concurrent requests take turns on it. A row newer
  // than `now` is a concurrent request that read the clock later: it counts as issued just now.
  const [row] = await selectRows<Issued>(
    db,
    sql`with quick_commit as (
        select set_config('synchronous_commit', 'off', true)
      ), account as (
        select id, username, email, first_name, last_name from users
        where ${pair.username === undefined ? sql`true` : usernameIs(pair.username)}
          and ${emailIs(pair.email)} and active
      ), issued as (
        insert into password_reset_tokens (token_hash, user_id, created_at, expires_at)
        select ${tokenHash}::text, id, ${time}, ${expiresAt} from account
        on conflict (user_id) do update
          set token_hash = excluded.token_hash, created_at = excluded.created_at,
            expires_at = excluded.expires_at
          where least(password_reset_tokens.created_at, excluded.created_at)
            <= excluded.created_at - ${rules.intervalSeconds}::int * interval '1 second'
        returning user_id
      ), ${auditCte("logged", requested, occasion, sql`from account left join issued on issued.user_id = account.id`)}
      select account.username, account.email, account.first_name, account.last_name,
        issued.user_id is not null as issued
      from quick_commit
      left join account on true
      left join issued on issued.user_id = account.id`,
  );
  if (!row?.issued || row.username === null || row.email === null) return undefined;
  return {
    username: row.username,
    email: row.email,
    firstName: row.first_name ?? "",
    lastName: row.last_name ?? "",
  };
}

const liveToken = (tokenHash: string, now: Date) =>
  and(eq(passwordResetTokens.tokenHash, tokenHash), gt(passwordResetTokens.expiresAt, now));

/** The account a live (unused, unexpired) reset token belongs to. */
export async function findResetTokenHolder(
  db: Database,
  tokenHash: string,
  now: Date,
): Promise<User | undefined> {
  const [row] = await db
    .select({ user: users })
    .from(passwordResetTokens)
    .innerJoin(users, eq(users.id, passwordResetTokens.userId))
    .where(liveToken(tokenHash, now))
    .limit(1);
  return row?.user;
}

/**
 * In one statement: consumes the token, sets the new password (revoking every access token and
 * session issued before), marks the email verified and lifts the lockout of both names the
 * account logs in with (whoever holds the mailbox has proven it) and records it in the audit log. Of N concurrent uses exactly
 * one returns true.
 */
export async function resetPasswordWithToken(
  db: Database,
  tokenHash: string,
  passwordHash: string,
  occasion: Occasion,
): Promise<boolean> {
  const now = occasion.at;
  const time = sqlTime(now);
  const account = { id: sql`id`, username: sql`username` };
  const completed = {
    action: "password_reset.completed",
    actor: account,
    target: account,
  } as const;
  // DELETE ... RETURNING is the atomic consume: of N concurrent uses one gets the row.
  const rows = await selectRows<{ id: number }>(
    db,
    sql`with consumed as (
        delete from password_reset_tokens
        where token_hash = ${tokenHash} and expires_at > ${time}
        returning user_id
      ), changed as (
        update users set password_hash = ${passwordHash}, token_version = token_version + 1,
          email_verified = true, updated_at = ${time}
        from consumed where users.id = consumed.user_id
        returning users.id, users.username, users.email
      ), unlocked as (
        delete from login_throttles where key in (
          select ${throttleKey(sql`username`)} from changed
          union all select ${throttleKey(sql`email`)} from changed)
      ), ${auditCte("logged", completed, occasion, sql`from changed`)}
      select id from changed`,
  );
  return rows.length > 0;
}

/**
 * Deletes reset tokens that can no longer matter, in batches. A used token is deleted when it is
 * used and a voided one when its successor is issued, so what is left to prune has expired; it
 * goes once it is also older than RESET_EMAIL_INTERVAL, because the newest token of an account
 * dates its last mail (issueResetToken), plus PRUNE_GRACE_SECONDS for both.
 */
export async function pruneResetTokens(
  db: Database,
  now: Date,
  emailIntervalSeconds: number,
  signal?: AbortSignal,
) {
  const stale = sql`expires_at < ${pruneCutoff(now)}
    and created_at < ${pruneCutoff(now, emailIntervalSeconds)}`;
  return deleteStaleRows(db, { table: "password_reset_tokens", key: "token_hash", stale }, signal);
}
