import { createRoute, z } from "@hono/zod-openapi";
import {
  bearerSecurity,
  bodyErrors,
  errorResponse,
  errorResponses,
  jsonContent,
  jsonContentRequired,
  MessageSchema,
  noSecurity,
  strayBodyErrors,
} from "../../http/openapi";
import { loginPasswordField, usernameParam } from "../../users/user.fields";
import { TokenResponse } from "../auth/auth.routes";

const tags = ["Second factor"];

const totpCode = z
  .string()
  .regex(/^\d{6}$/, "must be 6 digits")
  .openapi({ description: "The 6-digit code your authenticator app shows now", example: "123456" });
const codeOrBackupCode = z
  .string()
  .min(1)
  .max(64)
  .openapi({ description: "A current 6-digit code, or one of your backup codes" });

export const StartTotpBody = z
  .strictObject({ password: loginPasswordField })
  .openapi("StartTotpRequest");

export const TotpEnrollment = z
  .object({
    secret: z.string().openapi({ description: "The shared secret, base32 (RFC 4648), unpadded" }),
    otpauth_url: z.string().openapi({ description: "otpauth://totp/… for a QR code" }),
  })
  .openapi("TotpEnrollment");

export const startTotp = createRoute({
  method: "post",
  path: "/api/me/mfa/totp",
  operationId: "startTotp",
  tags,
  summary:
    "Start (or restart) enrolling a TOTP second factor; the secret is shown here only, confirm it with a code",
  security: bearerSecurity,
  request: { body: jsonContentRequired(StartTotpBody) },
  responses: {
    200: jsonContent(TotpEnrollment, "A pending factor"),
    ...errorResponses(...bodyErrors, "UNAUTHORIZED", "CONFLICT", "RATE_LIMITED"),
  },
});

export const ConfirmTotpBody = z.strictObject({ code: totpCode }).openapi("ConfirmTotpRequest");

export const BackupCodes = z
  .object({
    backup_codes: z
      .array(z.string())
      .length(10)
      .openapi({ description: "Single-use codes, shown once; each replaces a TOTP code once" }),
  })
  .openapi("BackupCodes");

export const confirmTotp = createRoute({
  method: "post",
  path: "/api/me/mfa/totp/confirm",
  operationId: "confirmTotp",
  tags,
  summary: "Turn the pending factor on with its first code; answers 10 backup codes",
  security: bearerSecurity,
  request: { body: jsonContentRequired(ConfirmTotpBody) },
  responses: {
    200: jsonContent(BackupCodes, "The factor is on"),
    ...errorResponses(...bodyErrors, "INVALID_MFA_CODE", "UNAUTHORIZED", "CONFLICT"),
  },
});

export const ProveFactorBody = z
  .strictObject({ password: loginPasswordField, code: codeOrBackupCode })
  .openapi("ProveFactorRequest");

export const disableTotp = createRoute({
  method: "delete",
  path: "/api/me/mfa/totp",
  operationId: "disableTotp",
  tags,
  summary: "Turn the second factor off (password and a code or backup code)",
  security: bearerSecurity,
  request: { body: jsonContentRequired(ProveFactorBody) },
  responses: {
    200: jsonContent(MessageSchema, "The factor and its backup codes are gone"),
    ...errorResponses(
      ...bodyErrors,
      "INVALID_MFA_CODE",
      "UNAUTHORIZED",
      "CONFLICT",
      "RATE_LIMITED",
    ),
  },
});

export const regenerateBackupCodes = createRoute({
  method: "post",
  path: "/api/me/mfa/backup_codes",
  operationId: "regenerateBackupCodes",
  tags,
  summary:
    "Replace your backup codes (password and a code or backup code); the old ones stop working",
  security: bearerSecurity,
  request: { body: jsonContentRequired(ProveFactorBody) },
  responses: {
    200: jsonContent(BackupCodes, "New backup codes"),
    ...errorResponses(
      ...bodyErrors,
      "INVALID_MFA_CODE",
      "UNAUTHORIZED",
      "CONFLICT",
      "RATE_LIMITED",
    ),
  },
});

export const clearUserMfa = createRoute({
  method: "delete",
  path: "/api/user/{username}/mfa",
  operationId: "clearUserMfa",
  tags,
  summary:
    "Turn an account's second factor off and end its sessions (ADMIN only; a USER or yourself, never another ADMIN)",
  security: bearerSecurity,
  request: { params: usernameParam },
  responses: {
    200: jsonContent(MessageSchema, "The factor is off"),
    ...errorResponses(...strayBodyErrors, "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND"),
  },
});

export const LoginMfaBody = z
  .strictObject({
    mfa_token: z.string().min(1).max(256).openapi({ description: "From the login's answer" }),
    code: totpCode.optional(),
    backup_code: z.string().min(1).max(64).optional(),
  })
  .refine(
    (body) => (body.code === undefined) !== (body.backup_code === undefined),
    "Provide code or backup_code (one of them).",
  )
  .openapi("LoginMfaRequest");

export const loginMfa = createRoute({
  method: "post",
  path: "/api/user/login/mfa",
  operationId: "loginMfa",
  tags,
  security: noSecurity,
  summary: "Finish a login that answered mfa_required, with a code or a backup code",
  request: { body: jsonContentRequired(LoginMfaBody) },
  responses: {
    200: jsonContent(TokenResponse, "Access token"),
    ...errorResponses(...bodyErrors, "RATE_LIMITED"),
    401: errorResponse(["UNAUTHORIZED", "INVALID_MFA_CODE"]),
  },
});

export type StartTotpRoute = typeof startTotp;
export type ConfirmTotpRoute = typeof confirmTotp;
export type DisableTotpRoute = typeof disableTotp;
export type RegenerateBackupCodesRoute = typeof regenerateBackupCodes;
export type ClearUserMfaRoute = typeof clearUserMfa;
export type LoginMfaRoute = typeof loginMfa;
