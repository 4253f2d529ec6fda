import { issueAccessToken } from "../auth/jwt";
import { randomToken, sha256Hex } from "../auth/tokens";
import type { User } from "../db/schema";
import type { Deps } from "../deps";
import { unauthorized } from "../errors";
import {
  addRefreshToken,
  consumeRefreshToken,
  createSession,
  findRefreshToken,
  revokeSession,
} from "./session.store";

/** What issuing and rotating tokens needs from the app's dependencies. */
type SessionDeps = Pick<Deps, "db" | "config" | "clock">;

const invalidRefresh = () => unauthorized("Invalid or expired refresh token.");

/** A new refresh token: the value the client gets and the row the store keeps. */
async function newRefreshToken({ config, clock }: SessionDeps) {
  const value = randomToken();
  const now = clock.now();
  const expiresAt = new Date(now.getTime() + config.refreshTokenTtl * 1000);
  return { value, row: { tokenHash: await sha256Hex(value), now, expiresAt } };
}

/** The pair the client receives for a session. */
async function tokenPair(deps: SessionDeps, user: User, sessionId: string, refresh: string) {
  const { config, clock } = deps;
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
export async function startSession(deps: SessionDeps, user: User) {
  const sessionId = crypto.randomUUID();
  const refresh = await newRefreshToken(deps);
  await createSession(deps.db, { id: sessionId, user }, refresh.row);
  return tokenPair(deps, user, sessionId, refresh.value);
}

/**
 * Rotation: the presented token is consumed and a new pair issued in the same session. A token
 * consumed less than REFRESH_REUSE_GRACE seconds ago still yields a pair (two tabs refreshing at
 * once); later reuse means the token was copied, so the whole session is revoked.
 */
export async function refreshSession(deps: SessionDeps, presented: string) {
  const { db, clock, config } = deps;
  const now = clock.now();
  const tokenHash = await sha256Hex(presented);
  const found = await findRefreshToken(db, tokenHash);
  if (!found || !isLive(found, now)) throw invalidRefresh();
  const { token, session, user } = found;

  // Losing the race to consume means a concurrent refresh did so a moment ago: inside the grace.
  const firstUse = token.consumedAt === null && (await consumeRefreshToken(db, tokenHash, now));
  const consumedAgoMs = token.consumedAt ? now.getTime() - token.consumedAt.getTime() : 0;
  if (!firstUse && consumedAgoMs > config.refreshReuseGrace * 1000) {
    await revokeSession(db, session.id, now);
    throw invalidRefresh();
  }
  const refresh = await newRefreshToken(deps);
  await addRefreshToken(db, { ...refresh.row, sessionId: session.id });
  return tokenPair(deps, user, session.id, refresh.value);
}

type FoundToken = NonNullable<Awaited<ReturnType<typeof findRefreshToken>>>;

function isLive({ token, session, user }: FoundToken, now: Date) {
  return (
    token.expiresAt > now &&
    session.revokedAt === null &&
    session.tokenVersion === user.tokenVersion &&
    user.active
  );
}
