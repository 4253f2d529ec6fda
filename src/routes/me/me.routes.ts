import { createRoute, z } from "@hono/zod-openapi";
import {
  bearerSecurity,
  bodyErrors,
  errorResponses,
  jsonContent,
  jsonContentRequired,
} from "../../lib/openapi";
import { requireAuth } from "../../middleware/auth";
import { nameField } from "../../users/user.fields";
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
  middleware: [requireAuth] as const,
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
  middleware: [requireAuth] as const,
  request: { body: jsonContentRequired(UpdateMeBody) },
  responses: {
    200: jsonContent(UserSchema, "Your account as changed"),
    ...errorResponses(...bodyErrors, "UNAUTHORIZED"),
  },
});

export type GetMeRoute = typeof getMe;
export type UpdateMeRoute = typeof updateMe;
