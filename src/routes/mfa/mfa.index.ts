import { createRouter } from "../../http/create-router";
import { requireAdmin, requireAuth } from "../../middleware/auth";
import { requireHashCapacity } from "../../middleware/hash-capacity";
import { rateLimit } from "../../middleware/rate-limit";
import * as handlers from "./mfa.handlers";
import * as routes from "./mfa.routes";

// The routes that take the password have login's argon2 cap and per-client budget, as
// POST /api/me/password does; the login's second step has a budget of its own (LOGIN_MFA).
const passwordChecked = () => [requireAuth, requireHashCapacity, rateLimit("LOGIN")];

export const mfaRouter = createRouter()
  .openapi({ ...routes.startTotp, middleware: passwordChecked() }, handlers.startTotp)
  .openapi({ ...routes.confirmTotp, middleware: [requireAuth] as const }, handlers.confirmTotp)
  .openapi({ ...routes.disableTotp, middleware: passwordChecked() }, handlers.disableTotp)
  .openapi(
    { ...routes.regenerateBackupCodes, middleware: passwordChecked() },
    handlers.regenerateBackupCodes,
  )
  .openapi(
    { ...routes.clearUserMfa, middleware: [requireAuth, requireAdmin] as const },
    handlers.clearUserMfa,
  )
  .openapi(
    { ...routes.loginMfa, middleware: [rateLimit("LOGIN_MFA")] as const },
    handlers.loginMfa,
  );
