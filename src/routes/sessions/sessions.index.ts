import { createRouter } from "../../http/create-router";
import { requireAuth } from "../../middleware/auth";
import { rateLimit } from "../../middleware/rate-limit";
import * as handlers from "./sessions.handlers";
import * as routes from "./sessions.routes";

export const sessionsRouter = createRouter()
  .openapi({ ...routes.refresh, middleware: [rateLimit("REFRESH")] as const }, handlers.refresh)
  .openapi(routes.logout, handlers.logout)
  .openapi(
    { ...routes.listMySessions, middleware: [requireAuth] as const },
    handlers.listMySessions,
  )
  .openapi({ ...routes.endMySession, middleware: [requireAuth] as const }, handlers.endMySession);
