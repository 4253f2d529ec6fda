import { type SQL, sql } from "drizzle-orm";
import { auditCte, type Occasion, type Party } from "../audit/audit.store";
import {
  compiledStatement,
  type Database,
  deleteInBatches,
  type OrSql,
  pruneCutoff,
  selectRows,
  sqlTime,
  tableRows,
} from "../db/database";
import { type User, users } from "../db/schema";

// Sessions (one per login, a refresh-token family) and their refresh tokens, stored only as
// SHA-256 hashes.

/** A refresh token about to be handed out. */
export type NewRefreshToken = { tokenHash: string; expiresAt: Date };

/** A session about to start, with its first refresh token. */
export type NewSession = {
  id: string;
  user: Pick<User, "id" | "tokenVersion">;
  refresh: NewRefreshToken;
};

/** A NewSession, or SQL standing for its values (a compiledStatement's). */
export type NewSessionValues = {
  id: string | SQL;
  user: OrSql<NewSession["user"]>;
  refresh: OrSql<NewRefreshToken>;
};

/**
 * The CTEs that start `session` and its first refresh token, in the statement that settles the
 * login (src/login/login-throttle.store.ts), so a login writes once. The session is last used
 * now, from the occasion's address and user agent. Nothing starts when `gate` (a CTE name) has no
 * row.
 */
export function sessionStart(session: NewSessionValues, gate: SQL, occasion: OrSql<Occasion>): SQL {
  const now = occasion.at;
  return sql`started as (
      insert into sessions (id, user_id, token_version, created_at, last_used_at, ip, user_agent)
      select ${session.id}::text, ${session.user.id}::int, ${session.user.tokenVersion}::int,
        ${sqlTime(now)}, ${sqlTime(now)}, ${occasion.ip}::text, ${occasion.userAgent}::text
      from ${gate}
      returning id
    ), first_token as (
      insert into refresh_tokens (token_hash, session_id, created_at, expires_at)
      select ${session.refresh.tokenHash}::text, id, ${sqlTime(now)},
        ${sqlTime(session.refresh.expiresAt)} from started
    )`;
}

/** The account a rotated refresh token belongs to, as an access token needs it. */
export type TokenHolder = Pick<User, "id" | "role" | "tokenVersion">;

type RotationRow = { id: number; role: User["role"]; token_version: number; session_id: string };

/**
 * Rotation in one statement: when the presented token is live (unexpired, its session not revoked
 * or outdated by a token-version bump, its account active), it is consumed and `next` joins the
 * same session, which is marked used now, from the occasion's address and user agent. A token
 * consumed less than `graceSeconds` ago, or lost to a concurrent refresh a moment ago, still
 * rotates (two tabs refreshing at once); later reuse means the token was copied, so the whole
 * session is revoked and the audit log records a refresh.reused (its target the account, no
 * actor: who presented it is what nobody knows). Returns the holder and session, or undefined.
 */
export async function rotateRefreshToken(
  db: Database,
  presentedHash: string,
  next: NewRefreshToken,
  graceSeconds: number,
  occasion: Occasion,
): Promise<{ user: TokenHolder; sessionId: string } | undefined> {
  const now = occasion.at;
  const time = sqlTime(now);
  const reused = {
    action: "refresh.reused",
    target: { id: sql`id`, username: sql`username` },
  } as const;
  const [row] = await selectRows<RotationRow & { granted: boolean }>(
    db,
    sql`with live as (
        select u.id, u.username, u.role, u.token_version, s.id as session_id, t.consumed_at
        from refresh_tokens t
        join sessions s on s.id = t.session_id
        join users u on u.id = s.user_id
        where t.token_hash = ${presentedHash} and t.expires_at > ${time}
          and s.revoked_at is null and s.token_version = u.token_version and u.active
      ), consumed as (
        update refresh_tokens set consumed_at = ${time}
        where token_hash = ${presentedHash} and consumed_at is null
          and exists (select 1 from live)
        returning token_hash
      ), verdict as (
        select live.*, (exists (select 1 from consumed) or live.consumed_at is null
          or live.consumed_at >= ${time} - ${graceSeconds}::int * interval '1 second') as granted
        from live
      ), issued as (
        insert into refresh_tokens (token_hash, session_id, created_at, expires_at)
        select ${next.tokenHash}::text, session_id, ${time}, ${sqlTime(next.expiresAt)}
        from verdict where granted
      ), used as (
        update sessions set last_used_at = ${time}, ip = ${occasion.ip}::text,
          user_agent = ${occasion.userAgent}::text
        where id = (select session_id from verdict where granted)
      ), revoked as (
        update sessions set revoked_at = ${time}
        where id = (select session_id from verdict where not granted) and revoked_at is null
      ), ${auditCte("logged", reused, occasion, sql`from verdict where not granted`)}
      select id, role, token_version, session_id, granted from verdict`,
  );
  if (!row?.granted) return undefined;
  return {
    user: { id: row.id, role: row.role, tokenVersion: row.token_version },
    sessionId: row.session_id,
  };
}

/**
 * Logout: revokes the live session a refresh token belongs to, with its audit entry (the actor is
 * the account, whose token it was), in one statement. An unknown token, or one of a session that
 * has already ended, changes nothing.
 */
export async function revokeSessionOfToken(db: Database, tokenHash: string, occasion: Occasion) {
  const now = occasion.at;
  const account = { id: sql`u.id`, username: sql`u.username` };
  const logout = { action: "logout", actor: account, target: account, detail: "session" } as const;
  await db.execute(
    sql`with ended as (
        update sessions s set revoked_at = ${sqlTime(now)}
        from refresh_tokens t
        where t.token_hash = ${tokenHash} and s.id = t.session_id and s.revoked_at is null
        returning s.user_id, s.token_version
      ), ${auditCte("logged", logout, occasion, sql`from ended join users u on u.id = ended.user_id and u.token_version = ended.token_version`)}
      select 1`,
  );
}

/**
 * Logout everywhere, in one statement: the version bump refuses every access token so far and
 * ends every session, which are also marked revoked, and the audit entry goes in with them.
 */
export async function revokeEverySession(
  db: Database,
  me: Party & { id: number },
  occasion: Occasion,
) {
  const now = occasion.at;
  const time = sqlTime(now);
  const entry = { action: "logout", actor: me, target: me, detail: "all" } as const;
  await db.execute(
    sql`with bumped as (
        update users set token_version = token_version + 1, updated_at = ${time}
        where id = ${me.id} returning id
      ), revoked as (
        update sessions set revoked_at = ${time} where user_id = ${me.id} and revoked_at is null
      ), ${auditCte("logged", entry, occasion, sql`from bumped`)}
      select 1`,
  );
}

// The authenticated read's query, the hottest of all: compiled once, its user row read without
// Drizzle's generic row mapping (tableRows).
const holderColumns = tableRows(users, "u");
type HolderRow = Record<string, unknown> & { session_id: string | null; session_revoked: boolean };
const tokenHolderQuery = compiledStatement<HolderRow, { userId: number; sessionId: string }>(
  "find_token_holder",
  (
    v,
  ) => sql`select ${holderColumns.list}, s.id as session_id, s.revoked_at is not null as session_revoked
    from users u left join sessions s on s.id = ${v.sessionId}::text and s.user_id = u.id
    where u.id = ${v.userId}::int limit 1`,
);

/**
 * The account behind an access token, with the state of the token's session when it names one,
 * in one query.
 */
export async function findTokenHolder(db: Database, userId: number, sessionId: string | undefined) {
  const [row] = await tokenHolderQuery(db, { userId, sessionId: sessionId ?? "" });
  if (!row) return undefined;
  const sessionLive = row.session_id !== null && !row.session_revoked;
  return { user: holderColumns.read(row), sessionLive };
}

// What pruneSessions deletes, and why that is safe. A session has ended when it was revoked
// (logout, reuse of a consumed token) or its account's token version moved on (password, role,
// activity or name change, logout everywhere); versions only grow, so nothing brings it back. A
// session or refresh token that is gone gets the answers an ended one gets: 401 at refresh, 200 at
// logout, 401 for an access token naming the session.
// - A refresh token goes once its session has ended, or once it has expired and no access token
//   issued with it can still be valid. Until then it stays, consumed or not: a consumed token's
//   row is what turns its late reuse into revoking the whole session (rotateRefreshToken), so it
//   is kept while that reuse could still rotate, that is until it expires; an expired token is a
//   plain 401 with or without its row.
// - A session goes once it has ended, or once none of its refresh tokens is left (they all went
//   by the rule above) and no access token naming it can still be valid.
// Every time carries PRUNE_GRACE_SECONDS more; ended sessions without a time (a version bump) go
// at once, since every use of them is already refused.

/** Deletes refresh tokens, then sessions, that can no longer matter (rules above), in batches. */
export async function pruneSessions(
  db: Database,
  now: Date,
  accessTokenTtl: number,
  signal?: AbortSignal,
) {
  const expired = pruneCutoff(now);
  // Access tokens are issued at login (the session's creation) and at each rotation (a token's).
  const accessExpired = pruneCutoff(now, accessTokenTtl);
  const ended = sql`(s.revoked_at < ${expired} or s.token_version <> u.token_version)`;
  const refreshTokens = await deleteInBatches(
    db,
    (limit) => sql`delete from refresh_tokens where token_hash in (
        select t.token_hash from refresh_tokens t
        join sessions s on s.id = t.session_id
        join users u on u.id = s.user_id
        where (t.expires_at < ${expired} and t.created_at < ${accessExpired}) or ${ended}
        limit ${limit} for update of t skip locked
      )`,
    signal,
  );
  const sessionsDeleted = await deleteInBatches(
    db,
    (limit) => sql`delete from sessions where id in (
        select s.id from sessions s
        join users u on u.id = s.user_id
        where ${ended} or (s.created_at < ${accessExpired}
          and not exists (select 1 from refresh_tokens t where t.session_id = s.id))
        limit ${limit} for update of s skip locked
      )`,
    signal,
  );
  return { refreshTokens, sessions: sessionsDeleted };
}
