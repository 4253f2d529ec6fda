import { sha256Hex } from "../../auth/tokens";
import type { AppRouteHandler } from "../../http/handler";
import { occasionOf } from "../../http/occasion";
import { authenticate } from "../../middleware/auth";
import { revokeEverySession, revokeSessionOfToken } from "../../sessions/session.store";
import { refreshSession } from "../../sessions/sessions";
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
