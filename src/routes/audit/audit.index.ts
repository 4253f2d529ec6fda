import { createRouter } from "../../http/create-router";
import { requireAdmin, requireAuth } from "../../middleware/auth";
import * as handlers from "./audit.handlers";
import * as routes from "./audit.routes";

export const auditRouter = createRouter().openapi(
  { ...routes.listAudit, middleware: [requireAuth, requireAdmin] as const },
  handlers.listAudit,
);
