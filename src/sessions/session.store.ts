import { and, eq, isNull } from "drizzle-orm";
import type { Database } from "../db/database";
import { refreshTokens, sessions, type User, users } from "../db/schema";
import { bumpedTokenVersion } from "../users/user.store";

// Sessions (one per login, a refresh-token family) and their refresh tokens, stored only as
// SHA-256 hashes.

type NewRefreshToken = { tokenHash: string; sessionId: string; now: Date; expiresAt: Date };

/** Starts a session and its first refresh token together, in one transaction. */
export async function createSession(
  db: Database,
  session: { id: string; user: Pick<User, "id" | "tokenVersion"> },
  first: Omit<NewRefreshToken, "sessionId">,
) {
  await db.transaction(async (tx) => {
    await tx.insert(sessions).values({
      id: session.id,
      userId: session.user.id,
      tokenVersion: session.user.tokenVersion,
      createdAt: first.now,
    });
    await addRefreshToken(tx, { ...first, sessionId: session.id });
  });
}

export async function addRefreshToken(db: Database, token: NewRefreshToken) {
  await db.insert(refreshTokens).values({
    tokenHash: token.tokenHash,
    sessionId: token.sessionId,
    createdAt: token.now,
    expiresAt: token.expiresAt,
  });
}

/** A refresh token with its session and account, by the token's hash. */
export async function findRefreshToken(db: Database, tokenHash: string) {
  const [found] = await db
    .select({ token: refreshTokens, session: sessions, user: users })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(refreshTokens.tokenHash, tokenHash))
    .limit(1);
  return found;
}

/** Marks a refresh token consumed; false when it already was (a concurrent refresh won). */
export async function consumeRefreshToken(db: Database, tokenHash: string, now: Date) {
  const won = await db
    .update(refreshTokens)
    .set({ consumedAt: now })
    .where(and(eq(refreshTokens.tokenHash, tokenHash), isNull(refreshTokens.consumedAt)))
    .returning({ at: refreshTokens.consumedAt });
  return won.length > 0;
}

export async function revokeSession(db: Database, sessionId: string, now: Date) {
  await db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
}

/** Revokes the session a refresh token belongs to; an unknown token changes nothing. */
export async function revokeSessionOfToken(db: Database, tokenHash: string, now: Date) {
  const [row] = await db
    .select({ sessionId: refreshTokens.sessionId })
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, tokenHash));
  if (row) await revokeSession(db, row.sessionId, now);
}

/** Logout everywhere: the version bump refuses every access token so far and ends every session. */
export async function revokeEverySession(db: Database, userId: number, now: Date) {
  await db.transaction(async (tx) => {
    await tx
      .update(users)
      .set({ tokenVersion: bumpedTokenVersion(), updatedAt: now })
      .where(eq(users.id, userId));
    await tx
      .update(sessions)
      .set({ revokedAt: now })
      .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)));
  });
}

/**
 * The account behind an access token, with the state of the token's session when it names one,
 * in one query.
 */
export async function findTokenHolder(db: Database, userId: number, sessionId: string | undefined) {
  const [row] = await db
    .select({ user: users, sessionId: sessions.id, revokedAt: sessions.revokedAt })
    .from(users)
    .leftJoin(sessions, and(eq(sessions.id, sessionId ?? ""), eq(sessions.userId, users.id)))
    .where(eq(users.id, userId))
    .limit(1);
  if (!row) return undefined;
  const sessionLive = row.sessionId !== null && row.revokedAt === null;
  return { user: row.user, sessionLive };
}
