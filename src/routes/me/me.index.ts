import { createRouter } from "../../http/create-router";
import { requireAuth } from "../../middleware/auth";
import { requireHashCapacity } from "../../middleware/hash-capacity";
import { rateLimit } from "../../middleware/rate-limit";
import * as email from "./email.handlers";
import * as handlers from "./me.handlers";
import * as routes from "./me.routes";

export const meRouter = createRouter()
  .openapi({ ...routes.getMe, middleware: [requireAuth] as const }, handlers.getMe)
  .openapi({ ...routes.updateMe, middleware: [requireAuth] as const }, handlers.updateMe)
  .openapi(
    {
      ...routes.deleteMe,
      middleware: [requireAuth, requireHashCapacity, rateLimit("LOGIN")] as const,
    },
    handlers.deleteMe,
  )
  .openapi(
    {
      ...routes.changePassword,
      middleware: [requireAuth, requireHashCapacity, rateLimit("LOGIN")] as const,
    },
    handlers.changePassword,
  )
  .openapi(
    { ...routes.resendVerification, middleware: [requireAuth, rateLimit("VERIFY_EMAIL")] as const },
    email.resendVerification,
  )
  .openapi(
    {
      ...routes.changeEmail,
      middleware: [requireAuth, requireHashCapacity, rateLimit("LOGIN")] as const,
    },
    email.changeEmail,
  );
