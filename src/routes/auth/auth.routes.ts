import { createRoute, z } from "@hono/zod-openapi";
import {
  bodyErrors,
  errorResponses,
  jsonContent,
  jsonContentRequired,
  MessageSchema,
  noSecurity,
} from "../../http/openapi";
import {
  emailField,
  loginPasswordField,
  nameField,
  passwordField,
  usernameField,
} from "../../users/user.fields";

const tags = ["Auth"];

export const RegisterBody = z
  .strictObject({
    username: usernameField,
    first_name: nameField,
    last_name: nameField,
    email: emailField,
    password: passwordField,
  })
  .openapi("RegisterRequest");

export const register = createRoute({
  method: "post",
  path: "/api/user/register",
  operationId: "register",
  tags,
  security: noSecurity,
  summary: "Create an active USER account",
  request: { body: jsonContentRequired(RegisterBody) },
  responses: {
    201: jsonContent(MessageSchema, "Registered"),
    ...errorResponses(...bodyErrors, "CONFLICT", "RATE_LIMITED"),
  },
});

export const LoginBody = z
  .strictObject({
    username: z.string().min(1).max(254).openapi({ description: "Username or email" }),
    password: loginPasswordField,
  })
  .openapi("LoginRequest");

export const TokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int().openapi({ description: "Access-token lifetime in seconds" }),
    refresh_token: z.string().openapi({ description: "Opaque; exchange at /api/user/refresh" }),
    refresh_expires_in: z.number().int(),
  })
  .openapi("TokenResponse");

export const MfaRequired = z
  .object({
    mfa_required: z.literal(true),
    mfa_token: z
      .string()
      .openapi({ description: "Opaque; send it with a code to /api/user/login/mfa" }),
    expires_in: z.number().int().openapi({ description: "Seconds the mfa_token lasts" }),
  })
  .openapi("MfaRequired");

export const login = createRoute({
  method: "post",
  path: "/api/user/login",
  operationId: "login",
  tags,
  security: noSecurity,
  summary: "Exchange a username (or email) and password for an access token",
  request: { body: jsonContentRequired(LoginBody) },
  responses: {
    200: jsonContent(
      z.union([TokenResponse, MfaRequired]),
      "Access token, or (second factor on) an mfa_token for /api/user/login/mfa",
    ),
    ...errorResponses(
      ...bodyErrors,
      "UNAUTHORIZED",
      "FORBIDDEN",
      "EMAIL_NOT_VERIFIED",
      "RATE_LIMITED",
    ),
  },
});

export const ForgetPasswordBody = z
  .strictObject({
    username: z
      .string()
      .min(1)
      .max(254)
      .optional()
      .openapi({ description: "Optional; when given, it must name the same account as email" }),
    email: z.string().min(1).max(254),
  })
  .openapi("ForgetPasswordRequest");

export const forgetPassword = createRoute({
  method: "post",
  path: "/api/user/forget_password",
  operationId: "forgetPassword",
  tags,
  security: noSecurity,
  summary:
    "Email a single-use reset link; the answer is the same whether or not the account exists",
  request: { body: jsonContentRequired(ForgetPasswordBody) },
  responses: {
    200: jsonContent(
      MessageSchema.extend({
        token: z.string().optional().openapi({ description: "Only with EXPOSE_RESET_TOKEN=true" }),
      }),
      "Accepted",
    ),
    ...errorResponses(...bodyErrors, "RATE_LIMITED"),
  },
});

export const ResetPasswordBody = z
  .strictObject({ token: z.string().min(1).max(256), new_password: passwordField })
  .openapi("ResetPasswordRequest");

export const resetPassword = createRoute({
  method: "post",
  path: "/api/user/reset_password",
  operationId: "resetPassword",
  tags,
  security: noSecurity,
  summary: "Set a new password with a reset token; revokes every earlier access token",
  request: { body: jsonContentRequired(ResetPasswordBody) },
  responses: {
    200: jsonContent(MessageSchema, "Password reset"),
    ...errorResponses(...bodyErrors, "INVALID_RESET_TOKEN", "RATE_LIMITED"),
  },
});

export const VerifyEmailBody = z
  .strictObject({ token: z.string().min(1).max(256) })
  .openapi("VerifyEmailRequest");

export const verifyEmail = createRoute({
  method: "post",
  path: "/api/user/verify_email",
  operationId: "verifyEmail",
  tags,
  security: noSecurity,
  summary:
    "Use an emailed link's token: verifies the address, or completes an email change (single use)",
  request: { body: jsonContentRequired(VerifyEmailBody) },
  responses: {
    200: jsonContent(MessageSchema, "Verified"),
    ...errorResponses(...bodyErrors, "INVALID_VERIFICATION_TOKEN", "CONFLICT"),
  },
});

export type RegisterRoute = typeof register;
export type LoginRoute = typeof login;
export type ForgetPasswordRoute = typeof forgetPassword;
export type ResetPasswordRoute = typeof resetPassword;
export type VerifyEmailRoute = typeof verifyEmail;
