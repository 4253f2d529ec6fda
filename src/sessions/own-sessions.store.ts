import { and, desc, eq, type SQL, sql } from "drizzle-orm";
import { auditCte, type Occasion } from "../audit/audit.store";
import { type Database, selectRows, sqlTime } from "../db/database";
import { sessions, type User, users } from "../db/schema";

// An account's own sessions, as GET and DELETE /api/me/sessions show and end them.

/** The most sessions a listing shows, newest first; `more` says that older live ones exist. */
export const SESSIONS_SHOWN = 100;

/** The caller: the account and the session (claim `sid`) of its access token, if any. */
export type SessionOwner = { user: Pick<User, "id" | "tokenVersion">; currentId?: string };

/**
 * A session that can still be used, as a condition on `sessions`: not revoked, of the account's
 * token version `accountVersion` (a bump ends every older session), and either the caller's own
 * (its access token was just checked) or holding a refresh token that has not expired. A
 * consumed token's session always holds a newer one, issued in the same statement.
 */
function liveSession(owner: SessionOwner, accountVersion: SQL, now: Date): SQL {
  const refreshable = sql`exists (select 1 from refresh_tokens t
    where t.session_id = ${sessions.id} and t.expires_at > ${sqlTime(now)})`;
  return sql`${sessions.revokedAt} is null and ${sessions.tokenVersion} = ${accountVersion}
    and (${sessions.id} = ${owner.currentId ?? ""}::text or ${refreshable})`;
}

/**
 * The live sessions of the caller's account (liveSession), newest first, SESSIONS_SHOWN at most,
 * and whether more exist.
 */
export async function listOwnSessions(db: Database, owner: SessionOwner, now: Date) {
  const rows = await db
    .select({
      id: sessions.id,
      createdAt: sessions.createdAt,
      lastUsedAt: sessions.lastUsedAt,
      ip: sessions.ip,
      userAgent: sessions.userAgent,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(eq(sessions.userId, owner.user.id), liveSession(owner, sql`${users.tokenVersion}`, now)),
    )
    .orderBy(desc(sessions.createdAt), desc(sessions.id))
    .limit(SESSIONS_SHOWN + 1);
  return { rows: rows.slice(0, SESSIONS_SHOWN), more: rows.length > SESSIONS_SHOWN };
}

export type OwnSession = Awaited<ReturnType<typeof listOwnSessions>>["rows"][number];

/**
 * Ends the caller's live session `sessionId` with its audit entry (a logout, detail
 * `session_id`), in one statement that runs only while the caller's token still holds (its
 * account active, of the same version). The account's row is share-locked, so a concurrent
 * version bump or deactivation is waited for and then seen, never missed. Revoking the session
 * refuses its refresh tokens and the access tokens naming it at once (findTokenHolder,
 * rotateRefreshToken). Returns whether it ended, and whether the caller's token still held.
 */
export async function endOwnSession(
  db: Database,
  owner: SessionOwner,
  sessionId: string,
  occasion: Occasion,
): Promise<{ ended: boolean; holds: boolean }> {
  const { id, tokenVersion } = owner.user;
  const account = { id: sql`id`, username: sql`username` };
  const logout = {
    action: "logout",
    actor: account,
    target: account,
    detail: "session_id",
  } as const;
  const [row] = await selectRows<{ ended: boolean; holds: boolean }>(
    db,
    sql`with me as (
        select id, username from users
        where id = ${id}::int and active and token_version = ${tokenVersion}::int
        for share
      ), ended as (
        update sessions set revoked_at = ${sqlTime(occasion.at)}
        from me
        where ${sessions.id} = ${sessionId}::text and ${sessions.userId} = me.id
          and ${liveSession(owner, sql`${tokenVersion}::int`, occasion.at)}
        returning me.id, me.username
      ), ${auditCte("logged", logout, occasion, sql`from ended`)}
      select exists (select 1 from ended) as ended, exists (select 1 from me) as holds`,
  );
  return { ended: row?.ended ?? false, holds: row?.holds ?? false };
}
