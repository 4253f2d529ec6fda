import type { Context } from "hono";
import { sha256Hex } from "../../auth/tokens";
import type { AppEnv } from "../../deps";
import { notFound, unauthorized } from "../../errors";
import type { AppRouteHandler } from "../../http/handler";
import { occasionOf } from "../../http/occasion";
import { authenticate } from "../../middleware/auth";
import {
  endOwnSession,
  listOwnSessions,
  type OwnSession,
  type SessionOwner,
} from "../../sessions/own-sessions.store";
import { revokeEverySession, revokeSessionOfToken } from "../../sessions/session.store";
import { isSessionId, refreshSession } from "../../sessions/sessions";
import type * as routes from "./sessions.routes";

export const refresh: AppRouteHandler<routes.RefreshRoute> = async (c) => {
  const { refresh_token } = c.req.valid("json");
  return c.json(await refreshSession(c.get("deps"), refresh_token, occasionOf(c)), 200);
};

export const logout: AppRouteHandler<routes.LogoutRoute> = async (c) => {
  const body = c.req.valid("json");
  const { db } = c.get("deps");
  const occasion = occasionOf(c);
  if (body.all) {
    const me = await authenticate(c);
    await revokeEverySession(db, me, occasion);
  }
  // An unknown refresh token has no session to end: the answer is the same.
  if (body.refresh_token) {
    await revokeSessionOfToken(db, sha256Hex(body.refresh_token), occasion);
  }
  return c.json({ msg: "Logged out." }, 200);
};

/** The signed-in caller (requireAuth) as the owner of its sessions. */
const ownerOf = (c: Context<AppEnv>): SessionOwner => ({
  user: c.get("currentUser"),
  currentId: c.get("currentSessionId"),
});

const toPublicSession = (session: OwnSession, currentId: string | undefined) => ({
  id: session.id,
  created_at: session.createdAt.toISOString(),
  last_used_at: session.lastUsedAt.toISOString(),
  ip: session.ip,
  user_agent: session.userAgent,
  current: session.id === currentId,
});

export const listMySessions: AppRouteHandler<routes.ListMySessionsRoute> = async (c) => {
  const owner = ownerOf(c);
  const { db, clock } = c.get("deps");
  const { rows, more } = await listOwnSessions(db, owner, clock.now());
  return c.json({ sessions: rows.map((s) => toPublicSession(s, owner.currentId)), more }, 200);
};

export const endMySession: AppRouteHandler<routes.EndMySessionRoute> = async (c) => {
  const { id } = c.req.valid("param");
  // Another account's session, an ended one and an id no session ever had answer alike.
  if (!isSessionId(id)) throw notFound("session");
  const outcome = await endOwnSession(c.get("deps").db, ownerOf(c), id, occasionOf(c));
  if (outcome.ended) return c.json({ msg: "Session ended." }, 200);
  // The token stopped holding meanwhile (deactivated, logged out everywhere…): nothing changed.
  if (!outcome.holds) throw unauthorized();
  throw notFound("session");
};
