import { createRouter } from "../../http/create-router";
import { requireAdmin, requireAuth } from "../../middleware/auth";
import * as handlers from "./users.handlers";
import * as routes from "./users.routes";

// A USER may read its own account: GET checks ADMIN in its handler, for other accounts only.
export const usersRouter = createRouter()
  .openapi(
    { ...routes.listUsers, middleware: [requireAuth, requireAdmin] as const },
    handlers.listUsers,
  )
  .openapi({ ...routes.getUser, middleware: [requireAuth] as const }, handlers.getUser)
  .openapi(
    { ...routes.updateUser, middleware: [requireAuth, requireAdmin] as const },
    handlers.updateUser,
  )
  .openapi(
    { ...routes.deleteUser, middleware: [requireAuth, requireAdmin] as const },
    handlers.deleteUser,
  );
