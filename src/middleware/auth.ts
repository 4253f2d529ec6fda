import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { verifyAccessToken } from "../auth/jwt";
import type { User } from "../db/schema";
import type { AppEnv } from "../deps";
import { adminOnly, unauthorized } from "../errors";
import { findTokenHolder } from "../sessions/session.store";

/**
 * The account behind a valid bearer token. The account must still exist, be active and have the
 * token's version (password, role, activity and username changes revoke tokens at once), and the
 * token's session must not have been logged out.
 */
export async function authenticate(c: Context<AppEnv>): Promise<User> {
  return (await caller(c)).user;
}

/** The account behind a valid bearer token (see authenticate) and the token's session, if any. */
async function caller(c: Context<AppEnv>): Promise<{ user: User; sessionId?: string }> {
  const header = c.req.header("authorization") ?? "";
  // The scheme name is case-insensitive (RFC 9110); the token itself is not.
  const match = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i.exec(header);
  if (!match?.[1]) throw unauthorized();

  const { db, config, clock } = c.get("deps");
  const claims = verifyAccessToken(match[1], config, clock);
  if (!claims) throw unauthorized();

  const holder = await findTokenHolder(db, claims.userId, claims.sid);
  if (!holder?.user.active || holder.user.tokenVersion !== claims.ver) throw unauthorized();
  if (claims.sid && !holder.sessionLive) throw unauthorized();
  return { user: holder.user, sessionId: claims.sid };
}

/** Route guard: sets `currentUser` and `currentSessionId`, or answers 401. */
export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  const { user, sessionId } = await caller(c);
  c.set("currentUser", user);
  c.set("currentSessionId", sessionId);
  await next();
});

/** Route guard after requireAuth: 403 for anyone but an ADMIN, before the request is validated. */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  if (c.get("currentUser").role !== "ADMIN") throw adminOnly();
  await next();
});
