import { createMiddleware } from "hono/factory";
import { verifyAccessToken } from "../auth/jwt";
import type { AppEnv } from "../deps";
import { unauthorized } from "../errors";
import { findById } from "../users/user.store";

/**
 * Requires a valid bearer token whose account still exists, is active and has the same token
 * version: password, role, activity and username changes revoke tokens at once.
 */
export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(header);
  if (!match?.[1]) throw unauthorized();

  const { db, config, clock } = c.var.deps;
  const claims = await verifyAccessToken(match[1], config.jwtSecret, clock);
  if (!claims) throw unauthorized();

  const user = await findById(db, claims.userId);
  if (!user?.active || user.tokenVersion !== claims.ver) throw unauthorized();
  c.set("currentUser", user);
  await next();
});
