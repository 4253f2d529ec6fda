import { createRouter } from "../../http/create-router";
import { requireAdmin, requireAuth } from "../../middleware/auth";
import * as handlers from "./users.handlers";
import * as routes from "./users.routes";

const router = createRouter();
router.use("/api/user/:username", requireAuth);

export const usersRouter = router
  .openapi(
    { ...routes.listUsers, middleware: [requireAuth, requireAdmin] as const },
    handlers.listUsers,
  )
  .openapi(routes.getUser, handlers.getUser)
  .openapi(routes.updateUser, handlers.updateUser)
  .openapi(routes.deleteUser, handlers.deleteUser);
