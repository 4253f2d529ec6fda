import { auditSource } from "../../audit/audit-source";
import { sha256Hex } from "../../auth/tokens";
import type { AppRouteHandler } from "../../http/handler";
import { authenticate } from "../../middleware/auth";
import { revokeEverySession, revokeSessionOfToken } from "../../sessions/session.store";
import { refreshSession } from "../../sessions/sessions";
import type * as routes from "./sessions.routes";

export const refresh: AppRouteHandler<routes.RefreshRoute> = async (c) => {
  const { refresh_token } = c.req.valid("json");
  return c.json(await refreshSession(c.get("deps"), refresh_token, auditSource(c)), 200);
};

export const logout: AppRouteHandler<routes.LogoutRoute> = async (c) => {
  const body = c.req.valid("json");
  const { db, clock } = c.get("deps");
  const now = clock.now();
  const source = auditSource(c, now);
  if (body.all) {
    const me = await authenticate(c);
    await revokeEverySession(db, me, now, source);
  }
  // An unknown refresh token has no session to end: the answer is the same.
  if (body.refresh_token) {
    await revokeSessionOfToken(db, sha256Hex(body.refresh_token), now, source);
  }
  return c.json({ msg: "Logged out." }, 200);
};
