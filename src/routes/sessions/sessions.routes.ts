import { createRoute, z } from "@hono/zod-openapi";
import {
  bearerSecurity,
  bodyErrors,
  errorResponses,
  jsonContent,
  jsonContentRequired,
  MessageSchema,
  noSecurity,
} from "../../http/openapi";
import { TokenResponse } from "../auth/auth.routes";

const tags = ["Sessions"];
const refreshToken = z.string().min(1).max(256).openapi({ description: "Opaque refresh token" });

export const RefreshBody = z
  .strictObject({ refresh_token: refreshToken })
  .openapi("RefreshRequest");

export const refresh = createRoute({
  method: "post",
  path: "/api/user/refresh",
  operationId: "refresh",
  tags,
  security: noSecurity,
  summary: "Rotate a refresh token: a new access token and a new refresh token",
  request: { body: jsonContentRequired(RefreshBody) },
  responses: {
    200: jsonContent(TokenResponse, "New token pair"),
    ...errorResponses(...bodyErrors, "UNAUTHORIZED", "RATE_LIMITED"),
  },
});

export const LogoutBody = z
  .strictObject({
    refresh_token: refreshToken.optional(),
    all: z
      .boolean()
      .optional()
      .openapi({ description: "true: end every session of the caller (needs a bearer token)" }),
  })
  .refine(
    (b) => b.refresh_token !== undefined || b.all === true,
    "Give refresh_token, or all: true.",
  )
  .openapi("LogoutRequest");

export const logout = createRoute({
  method: "post",
  path: "/api/user/logout",
  operationId: "logout",
  tags,
  summary: "End the session of a refresh token, or with all: true every session of the caller",
  security: [...bearerSecurity, {}],
  request: { body: jsonContentRequired(LogoutBody) },
  responses: {
    200: jsonContent(MessageSchema, "Logged out"),
    ...errorResponses(...bodyErrors, "UNAUTHORIZED"),
  },
});

export type RefreshRoute = typeof refresh;
export type LogoutRoute = typeof logout;
