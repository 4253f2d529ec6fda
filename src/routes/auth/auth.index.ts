import { createRouter } from "../../lib/create-router";
import * as handlers from "./auth.handlers";
import * as routes from "./auth.routes";
import * as reset from "./password-reset.handlers";

export const authRouter = createRouter()
  .openapi(routes.register, handlers.register)
  .openapi(routes.login, handlers.login)
  .openapi(routes.forgetPassword, reset.forgetPassword)
  .openapi(routes.resetPassword, reset.resetPassword);
