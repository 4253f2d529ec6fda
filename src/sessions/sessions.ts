import type { Occasion } from "../audit/audit.store";
import { issueAccessToken } from "../auth/jwt";
import { randomToken, sha256Hex } from "../auth/tokens";
import type { Deps } from "../deps";
import { unauthorized } from "../errors";
import {
  type NewRefreshToken,
  type NewSession,
  rotateRefreshToken,
  type TokenHolder,
} from "./session.store";

/** What issuing and rotating tokens needs from the app's dependencies. */
type SessionDeps = Pick<Deps, "db" | "config" | "clock">;

/** A new refresh token: the value the client gets and what the store keeps of it. */
function newRefreshToken({ config }: SessionDeps, now: Date) {
  const value = randomToken();
  const expiresAt = new Date(now.getTime() + config.refreshTokenTtl * 1000);
  const stored: NewRefreshToken = { tokenHash: sha256Hex(value), expiresAt };
  return { value, stored };
}

/** The pair the client receives for a session. */
function tokenPair(deps: SessionDeps, user: TokenHolder, sessionId: string, refresh: string) {
  const { config, clock } = deps;
  const access = issueAccessToken(user, config, config.accessTokenTtl, clock, sessionId);
  return { ...access, refresh_token: refresh, refresh_expires_in: config.refreshTokenTtl };
}

// Session ids are random UUIDs (crypto.randomUUID).
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether a text could be a session id at all; anything else names no session. */
export const isSessionId = (text: string) => SESSION_ID.test(text);

/**
 * A session for a login: what the store writes when the login is settled, and the pair the
 * client gets once it has been.
 */
export function newSession(deps: SessionDeps, user: TokenHolder, now: Date) {
  const id = crypto.randomUUID();
  const refresh = newRefreshToken(deps, now);
  const stored: NewSession = { id, user, refresh: refresh.stored };
  return { stored, pair: () => tokenPair(deps, user, id, refresh.value) };
}

/**
 * Rotation: the presented token is consumed and a new pair issued in the same session (see
 * rotateRefreshToken for the reuse grace and theft rules).
 */
export async function refreshSession(deps: SessionDeps, presented: string, occasion: Occasion) {
  const { db, config } = deps;
  const next = newRefreshToken(deps, occasion.at);
  const rotated = await rotateRefreshToken(
    db,
    sha256Hex(presented),
    next.stored,
    config.refreshReuseGrace,
    occasion,
  );
  if (!rotated) throw unauthorized("Invalid or expired refresh token.");
  return tokenPair(deps, rotated.user, rotated.sessionId, next.value);
}
