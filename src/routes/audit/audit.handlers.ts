import { listAudit as listAuditPage, toPublicEntry } from "../../audit/audit.store";
import type { AppRouteHandler } from "../../http/handler";
import { paginatedListing } from "../../http/listing";
import type * as routes from "./audit.routes";

export const listAudit: AppRouteHandler<routes.ListAuditRoute> = async (c) => {
  const { limit, cursor, user, action } = c.req.valid("query");
  const { db } = c.get("deps");
  const query = { scope: ["GET /api/audit", user, action], cursor, sameParams: "user and action" };
  const { page, next_cursor } = await paginatedListing(c, query, (beforeId) =>
    listAuditPage(db, { user, action }, { beforeId, limit }),
  );
  return c.json({ entries: page.rows.map(toPublicEntry), next_cursor }, 200);
};
