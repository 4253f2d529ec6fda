import { createRoute, z } from "@hono/zod-openapi";
import {
  bearerSecurity,
  bodyErrors,
  errorResponses,
  jsonContent,
  jsonContentRequired,
  MessageSchema,
  strayBodyErrors,
} from "../../http/openapi";
import { emailField, loginPasswordField, nameField, passwordField } from "../../users/user.fields";
import { TokenResponse } from "../auth/auth.routes";
import { UserSchema } from "../users/users.routes";

const tags = ["Me"];

export const UpdateMeBody = z
  .strictObject({ first_name: nameField.optional(), last_name: nameField.optional() })
  .refine((body) => Object.keys(body).length > 0, "Provide first_name, last_name or both.")
  .openapi("UpdateMeRequest");

export const getMe = createRoute({
  method: "get",
  path: "/api/me",
  operationId: "getMe",
  tags,
  summary: "Read your own account",
  security: bearerSecurity,
  responses: {
    200: jsonContent(UserSchema, "Your account"),
    ...errorResponses("UNAUTHORIZED"),
  },
});

export const updateMe = createRoute({
  method: "patch",
  path: "/api/me",
  operationId: "updateMe",
  tags,
  summary: "Change your own first or last name (nothing else is editable here)",
  security: bearerSecurity,
  request: { body: jsonContentRequired(UpdateMeBody) },
  responses: {
    200: jsonContent(UserSchema, "Your account as changed"),
    ...errorResponses(...bodyErrors, "UNAUTHORIZED"),
  },
});

export const ChangePasswordBody = z
  .strictObject({ current_password: loginPasswordField, new_password: passwordField })
  .openapi("ChangePasswordRequest");

export const changePassword = createRoute({
  method: "post",
  path: "/api/me/password",
  operationId: "changePassword",
  tags,
  summary:
    "Change your password (the current one is required); every other session and earlier access token is revoked",
  security: bearerSecurity,
  // Authenticated first (a request without a valid token spends nothing), then the same argon2
  // cap and per-client budget as login (RATE_LIMIT_LOGIN).
  request: { body: jsonContentRequired(ChangePasswordBody) },
  responses: {
    200: jsonContent(TokenResponse, "A fresh token pair, in a new session"),
    ...errorResponses(...bodyErrors, "UNAUTHORIZED", "RATE_LIMITED"),
  },
});

export const DeleteMeBody = z
  .strictObject({ password: loginPasswordField })
  .openapi("DeleteMeRequest");

export const deleteMe = createRoute({
  method: "delete",
  path: "/api/me",
  operationId: "deleteMe",
  tags,
  summary: "Delete your own account (the password is required; never the last active ADMIN)",
  security: bearerSecurity,
  // As for changePassword.
  request: { body: jsonContentRequired(DeleteMeBody) },
  responses: {
    200: jsonContent(MessageSchema, "Deleted"),
    ...errorResponses(...bodyErrors, "UNAUTHORIZED", "CONFLICT", "RATE_LIMITED"),
  },
});

export const resendVerification = createRoute({
  method: "post",
  path: "/api/me/verify_email",
  operationId: "resendVerification",
  tags,
  summary:
    "Mail a new verification link (earlier ones stop working); at most one per RESET_EMAIL_INTERVAL",
  security: bearerSecurity,
  responses: {
    200: jsonContent(MessageSchema, "Sent, or already sent within the interval"),
    ...errorResponses(...strayBodyErrors, "UNAUTHORIZED", "CONFLICT", "RATE_LIMITED"),
  },
});

export const ChangeEmailBody = z
  .strictObject({ email: emailField, password: loginPasswordField })
  .openapi("ChangeEmailRequest");

export const changeEmail = createRoute({
  method: "post",
  path: "/api/me/email",
  operationId: "changeEmail",
  tags,
  summary:
    "Ask to change your email (the password is required): nothing changes until the new address confirms",
  security: bearerSecurity,
  // As for changePassword.
  request: { body: jsonContentRequired(ChangeEmailBody) },
  responses: {
    200: jsonContent(MessageSchema, "A confirmation link was mailed to the new address"),
    ...errorResponses(...bodyErrors, "UNAUTHORIZED", "CONFLICT", "RATE_LIMITED"),
  },
});

export type GetMeRoute = typeof getMe;
export type UpdateMeRoute = typeof updateMe;
export type ChangePasswordRoute = typeof changePassword;
export type DeleteMeRoute = typeof deleteMe;
export type ResendVerificationRoute = typeof resendVerification;
export type ChangeEmailRoute = typeof changeEmail;
