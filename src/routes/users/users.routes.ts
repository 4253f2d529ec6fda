import { createRoute, z } from "@hono/zod-openapi";
import {
  bearerSecurity,
  bodyErrors,
  errorResponses,
  jsonContent,
  jsonContentRequired,
  MessageSchema,
  strayBodyErrors,
} from "../../lib/openapi";
import {
  emailField,
  nameField,
  passwordField,
  roleField,
  usernameField,
  usernameParam,
} from "../../users/user.fields";

const tags = ["Users"];

export const UserSchema = z
  .object({
    id: z.number().int(),
    username: z.string(),
    first_name: z.string(),
    last_name: z.string(),
    email: z.string(),
    role: roleField,
    active: z.boolean(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .openapi("User");

export const UpdateUserBody = z
  .strictObject({
    username: usernameField.optional(),
    first_name: nameField.optional(),
    last_name: nameField.optional(),
    email: emailField.optional(),
    password: passwordField.optional(),
    active: z.boolean().optional(),
    role: roleField.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, "Provide at least one field to update.")
  .openapi("UpdateUserRequest");

export const getUser = createRoute({
  method: "get",
  path: "/api/user/{username}",
  operationId: "getUser",
  tags,
  summary: "Read an account: yourself, or anyone as an ADMIN",
  security: bearerSecurity,
  request: { params: usernameParam },
  responses: {
    200: jsonContent(UserSchema, "The account"),
    ...errorResponses("UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND"),
  },
});

export const updateUser = createRoute({
  method: "put",
  path: "/api/user/{username}",
  operationId: "updateUser",
  tags,
  summary: "Update yourself or a USER (ADMIN only)",
  security: bearerSecurity,
  request: { params: usernameParam, body: jsonContentRequired(UpdateUserBody) },
  responses: {
    200: jsonContent(
      z.object({ msg: z.string(), user: UserSchema }).openapi("UserUpdated"),
      "Updated",
    ),
    ...errorResponses(...bodyErrors, "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "CONFLICT"),
  },
});

export const deleteUser = createRoute({
  method: "delete",
  path: "/api/user/{username}",
  operationId: "deleteUser",
  tags,
  summary: "Delete a USER account (ADMIN only, never yourself)",
  security: bearerSecurity,
  request: { params: usernameParam },
  responses: {
    200: jsonContent(MessageSchema, "Deleted"),
    ...errorResponses(...strayBodyErrors, "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND"),
  },
});

export type GetUserRoute = typeof getUser;
export type UpdateUserRoute = typeof updateUser;
export type DeleteUserRoute = typeof deleteUser;
