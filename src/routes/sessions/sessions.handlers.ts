import { and, eq, isNull, sql } from "drizzle-orm";
import { sessions, users } from "../../db/schema";
import type { AppRouteHandler } from "../../lib/handler";
import { authenticate } from "../../middleware/auth";
import { endSessionByToken, refreshSession } from "../../sessions/sessions";
import type * as routes from "./sessions.routes";

export const refresh: AppRouteHandler<routes.RefreshRoute> = async (c) => {
  const { refresh_token } = c.req.valid("json");
  return c.json(await refreshSession(c.var.deps, refresh_token), 200);
};

export const logout: AppRouteHandler<routes.LogoutRoute> = async (c) => {
  const body = c.req.valid("json");
  const { db, clock } = c.var.deps;
  const now = clock.now();
  if (body.all) {
    const me = await authenticate(c);
    // Bumping the token version refuses every access token issued so far and ends every session.
    await db.transaction(async (tx) => {
      await tx
        .update(users)
        .set({ tokenVersion: sql`${users.tokenVersion} + 1`, updatedAt: now })
        .where(eq(users.id, me.id));
      await tx
        .update(sessions)
        .set({ revokedAt: now })
        .where(and(eq(sessions.userId, me.id), isNull(sessions.revokedAt)));
    });
  }
  if (body.refresh_token) await endSessionByToken(db, body.refresh_token, now);
  return c.json({ msg: "Logged out." }, 200);
};
