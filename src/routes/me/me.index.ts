import { createRouter } from "../../lib/create-router";
import * as handlers from "./me.handlers";
import * as routes from "./me.routes";

export const meRouter = createRouter()
  .openapi(routes.getMe, handlers.getMe)
  .openapi(routes.updateMe, handlers.updateMe)
  .openapi(routes.deleteMe, handlers.deleteMe)
  .openapi(routes.changePassword, handlers.changePassword);
