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
import { cursorParam, filterTextParam, pageLimitParam } from "../../http/pagination";
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
    email_verified: z
      .boolean()
      .openapi({ description: "Whether the account proved it owns `email` (a link, or a reset)" }),
    mfa_enabled: z.boolean().openapi({ description: "Whether logins ask for a second factor" }),
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

export const ListUsersQuery = z.strictObject({
  limit: pageLimitParam("Accounts per page"),
  cursor: cursorParam(
    "`next_cursor` of the previous page, with the same q, role, active and verified",
  ),
  // No control characters: also what keeps a match within one field (search_text joins them
  // with U+001F).
  q: filterTextParam()
    .optional()
    .openapi({
      param: { name: "q", in: "query" },
      description:
        "Case-insensitive substring of the username, email, first or last name; % _ and \\ are plain characters",
      example: "example.org",
    }),
  role: roleField.optional().openapi({ param: { name: "role", in: "query" } }),
  active: z
    .enum(["true", "false"])
    .optional()
    .openapi({ param: { name: "active", in: "query" } }),
  verified: z
    .enum(["true", "false"])
    .optional()
    .openapi({
      param: { name: "verified", in: "query" },
      description: "Whether the email is verified (email_verified)",
    }),
});

export const UserListSchema = z
  .object({
    users: z.array(UserSchema),
    next_cursor: z
      .string()
      .nullable()
      .openapi({ description: "Pass as `cursor` for the next page; null on the last page" }),
    total: z.number().int().openapi({ description: "How many accounts match the filters in all" }),
  })
  .openapi("UserList");

export const listUsers = createRoute({
  method: "get",
  path: "/api/users",
  operationId: "listUsers",
  tags,
  summary: "List and search accounts, in id order, a page at a time (ADMIN only)",
  security: bearerSecurity,
  request: { query: ListUsersQuery },
  responses: {
    200: jsonContent(UserListSchema, "A page of accounts"),
    ...errorResponses("VALIDATION_ERROR", "UNAUTHORIZED", "FORBIDDEN"),
  },
});

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

export type ListUsersRoute = typeof listUsers;
export type GetUserRoute = typeof getUser;
export type UpdateUserRoute = typeof updateUser;
export type DeleteUserRoute = typeof deleteUser;
