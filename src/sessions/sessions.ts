import { and, eq, isNull } from "drizzle-orm";
import { issueAccessToken } from "../auth/jwt";
import { randomToken, sha256Hex } from "../auth/tokens";
import type { Database } from "../db/database";
import { refreshTokens, sessions, type User, users } from "../db/schema";
import type { Deps } from "../deps";
import { unauthorized } from "../errors";

type Ctx = Pick<Deps, "db" | "config" | "clock">;

const invalidRefresh = () => unauthorized("Invalid or expired refresh token.");

/** Adds a fresh refresh token to a session and returns the pair the client receives. */
async function issuePair(deps: Ctx, db: Database, user: User, sessionId: string) {
  const { config, clock } = deps;
  const refresh = randomToken();
  const now = clock.now();
  await db.insert(refreshTokens).values({
    tokenHash: await sha256Hex(refresh),
    sessionId,
    createdAt: now,
    expiresAt: new Date(now.getTime() + config.refreshTokenTtl * 1000),
  });
  const access = await issueAccessToken(
    user,
    config.jwtSecret,
    config.accessTokenTtl,
    clock,
    sessionId,
  );
  return { ...access, refresh_token: refresh, refresh_expires_in: config.refreshTokenTtl };
}

/** Login: a new session (token family) with its first refresh token. */
export async function startSession(deps: Ctx, user: User) {
  const sessionId = crypto.randomUUID();
  await deps.db.insert(sessions).values({
    id: sessionId,
    userId: user.id,
    tokenVersion: user.tokenVersion,
    createdAt: deps.clock.now(),
  });
  return issuePair(deps, deps.db, user, sessionId);
}

/**
 * Rotation: the presented token is consumed and a new pair issued in the same session. A token
 * consumed less than REFRESH_REUSE_GRACE seconds ago still yields a pair (two tabs refreshing at
 * once); later reuse means the token was copied, so the whole session is revoked.
 */
export async function refreshSession(deps: Ctx, presented: string) {
  const { db, clock, config } = deps;
  const now = clock.now();
  const tokenHash = await sha256Hex(presented);
  const [found] = await db
    .select({ token: refreshTokens, session: sessions, user: users })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(refreshTokens.tokenHash, tokenHash))
    .limit(1);
  if (!found || !isLive(found, now)) throw invalidRefresh();
  const { token, session, user } = found;

  let consumedAt = token.consumedAt;
  if (!consumedAt) {
    const [won] = await db
      .update(refreshTokens)
      .set({ consumedAt: now })
      .where(and(eq(refreshTokens.tokenHash, tokenHash), isNull(refreshTokens.consumedAt)))
      .returning({ at: refreshTokens.consumedAt });
    // Losing this race means a concurrent refresh consumed it a moment ago: inside the grace.
    consumedAt = won ? null : now;
  }
  if (consumedAt && now.getTime() - consumedAt.getTime() > config.refreshReuseGrace * 1000) {
    await revokeSession(db, session.id, now);
    throw invalidRefresh();
  }
  return issuePair(deps, db, user, session.id);
}

function isLive(
  found: {
    token: typeof refreshTokens.$inferSelect;
    session: typeof sessions.$inferSelect;
    user: User;
  },
  now: Date,
) {
  const { token, session, user } = found;
  return (
    token.expiresAt > now &&
    session.revokedAt === null &&
    session.tokenVersion === user.tokenVersion &&
    user.active
  );
}

export async function revokeSession(db: Database, sessionId: string, now: Date) {
  await db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
}

/** Logout of one session by its refresh token; unknown tokens are ignored (nothing to end). */
export async function endSessionByToken(db: Database, presented: string, now: Date) {
  const [row] = await db
    .select({ sessionId: refreshTokens.sessionId })
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, await sha256Hex(presented)));
  if (row) await revokeSession(db, row.sessionId, now);
}
