import { createRoute, z } from "@hono/zod-openapi";
import {
  bearerSecurity,
  bodyErrors,
  errorResponses,
  jsonContent,
  jsonContentRequired,
  MessageSchema,
  noSecurity,
  strayBodyErrors,
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

export const SessionSchema = z
  .object({
    id: z.string().openapi({ example: "3f2b8c1e-6f0a-4d7e-9b1c-2a5e8d4f7c90" }),
    created_at: z.iso.datetime().openapi({ description: "The login that started the session" }),
    last_used_at: z.iso
      .datetime()
      .openapi({ description: "Its login or its latest refresh (not each authenticated request)" }),
    ip: z
      .string()
      .nullable()
      .openapi({ description: "Client address of that last use; null when unknown" }),
    user_agent: z
      .string()
      .nullable()
      .openapi({ description: "User-Agent of that last use, as the audit log keeps it" }),
    current: z
      .boolean()
      .openapi({ description: "The session of the access token of this request" }),
  })
  .openapi("Session");

export const listMySessions = createRoute({
  method: "get",
  path: "/api/me/sessions",
  operationId: "listMySessions",
  tags,
  summary: "Your live sessions, newest first (a capped list: see more)",
  security: bearerSecurity,
  responses: {
    200: jsonContent(
      z
        .object({
          sessions: z.array(SessionSchema),
          more: z.boolean().openapi({
            description: "true: the list is cut at its cap and older live sessions exist",
          }),
        })
        .openapi("SessionList"),
      "Your live sessions",
    ),
    ...errorResponses("UNAUTHORIZED"),
  },
});

export const endMySession = createRoute({
  method: "delete",
  path: "/api/me/sessions/{id}",
  operationId: "endMySession",
  tags,
  summary: "End one of your sessions: its refresh and access tokens stop working at once",
  security: bearerSecurity,
  request: {
    params: z.object({
      id: z.string().openapi({ param: { name: "id", in: "path" }, description: "A session id" }),
    }),
  },
  responses: {
    200: jsonContent(MessageSchema, "Ended"),
    ...errorResponses(...strayBodyErrors, "UNAUTHORIZED", "NOT_FOUND"),
  },
});

export type RefreshRoute = typeof refresh;
export type LogoutRoute = typeof logout;
export type ListMySessionsRoute = typeof listMySessions;
export type EndMySessionRoute = typeof endMySession;
