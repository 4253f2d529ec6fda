import { createRoute, z } from "@hono/zod-openapi";
import { auditActions } from "../../db/schema";
import { bearerSecurity, errorResponses, jsonContent } from "../../http/openapi";
import { cursorParam, filterTextParam, pageLimitParam } from "../../http/pagination";

const tags = ["Audit"];

const PartySchema = z
  .object({
    id: z.number().int().nullable(),
    username: z.string().nullable().openapi({ description: "The username it had then" }),
  })
  .nullable();

export const AuditEntrySchema = z
  .object({
    id: z.number().int(),
    at: z.iso.datetime(),
    action: z.enum(auditActions),
    actor: PartySchema.openapi({ description: "Who acted; null when nobody is known to have" }),
    target: PartySchema.openapi({ description: "The account acted on; null when none is known" }),
    ip: z.string().openapi({ description: "The client address (the one rate limits count)" }),
    user_agent: z.string().nullable(),
    fields: z
      .array(z.string())
      .openapi({ description: "The names of the changed fields, never their values" }),
    detail: z.string().nullable().openapi({
      description:
        "Why, where an action has several causes: login.failed password, unknown_account or deactivated; logout session or all; password_reset.requested sent or not_sent",
    }),
  })
  .openapi("AuditEntry");

export const ListAuditQuery = z.strictObject({
  limit: pageLimitParam("Entries per page"),
  cursor: cursorParam("`next_cursor` of the previous page, with the same user and action"),
  user: filterTextParam()
    .optional()
    .openapi({
      param: { name: "user", in: "query" },
      description:
        "A username or an account id: the entries naming that account as actor or target",
    }),
  action: z
    .enum(auditActions)
    .optional()
    .openapi({ param: { name: "action", in: "query" } }),
});

export const AuditPageSchema = z
  .object({
    entries: z.array(AuditEntrySchema),
    next_cursor: z
      .string()
      .nullable()
      .openapi({ description: "Pass as `cursor` for the next page; null on the last page" }),
  })
  .openapi("AuditPage");

export const listAudit = createRoute({
  method: "get",
  path: "/api/audit",
  operationId: "listAudit",
  tags,
  summary: "Read the audit log, newest first, a page at a time (ADMIN only)",
  security: bearerSecurity,
  request: { query: ListAuditQuery },
  responses: {
    200: jsonContent(AuditPageSchema, "A page of entries"),
    ...errorResponses("VALIDATION_ERROR", "UNAUTHORIZED", "FORBIDDEN"),
  },
});

export type ListAuditRoute = typeof listAudit;
