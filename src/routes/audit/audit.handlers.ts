import { listAudit as listAuditPage, toPublicEntry } from "../../audit/audit.store";
import { cursorPosition, signCursor } from "../../http/cursor";
import type { AppRouteHandler } from "../../http/handler";
import type * as routes from "./audit.routes";

export const listAudit: AppRouteHandler<routes.ListAuditRoute> = async (c) => {
  const { limit, cursor, user, action } = c.req.valid("query");
  const { db, config } = c.get("deps");
  const scope = JSON.stringify(["GET /api/audit", user, action]);
  const beforeId = cursorPosition(config.jwtSecret, scope, cursor, "user and action");
  const page = await listAuditPage(db, { user, action }, { beforeId, limit });
  const last = page.rows.at(-1);
  return c.json(
    {
      entries: page.rows.map(toPublicEntry),
      next_cursor: page.more && last ? signCursor(config.jwtSecret, scope, last.id) : null,
    },
    200,
  );
};
