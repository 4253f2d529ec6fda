import { createRouter } from "../../http/create-router";
import { requireHashCapacity } from "../../middleware/hash-capacity";
import { rateLimit } from "../../middleware/rate-limit";
import * as handlers from "./auth.handlers";
import * as routes from "./auth.routes";
import * as email from "./email-ownership.handlers";
import * as reset from "./password-reset.handlers";

// The guards are wired here, not in the route contracts: a contract's type closure is what a
// front end's hc<AppType> compiles (src/client.ts), and the guards reach Node-only code.
export const authRouter = createRouter()
  .openapi(
    { ...routes.register, middleware: [requireHashCapacity, rateLimit("REGISTER")] as const },
    handlers.register,
  )
  .openapi(
    { ...routes.login, middleware: [requireHashCapacity, rateLimit("LOGIN")] as const },
    handlers.login,
  )
  .openapi(
    { ...routes.forgetPassword, middleware: [rateLimit("FORGET_PASSWORD")] as const },
    reset.forgetPassword,
  )
  .openapi(
    {
      ...routes.resetPassword,
      middleware: [requireHashCapacity, rateLimit("RESET_PASSWORD")] as const,
    },
    reset.resetPassword,
  )
  // No per-IP limit: a 256-bit token cannot be guessed, and a use costs one indexed statement,
  // as much as the limit's own counter would.
  .openapi(routes.verifyEmail, email.verifyEmail);
