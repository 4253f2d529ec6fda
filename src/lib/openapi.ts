import { z } from "@hono/zod-openapi";
import type { ZodType } from "zod";

export const ErrorSchema = z
  .object({
    msg: z.string(),
    code: z.string().openapi({ example: "VALIDATION_ERROR" }),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Error");

export const MessageSchema = z.object({ msg: z.string() }).openapi("Message");

export const jsonContent = <T extends ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

/** A required JSON request body (the validator refuses a missing one). */
export const jsonBody = <T extends ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

const errorDescriptions = {
  400: "Invalid request body (VALIDATION_ERROR, INVALID_JSON)",
  401: "Missing, invalid, expired or revoked access token",
  403: "Not allowed",
  404: "No such account",
  409: "Conflict",
  413: "Request body over 64 KiB",
  415: "Content-Type is not application/json",
  429: "Too many requests (RATE_LIMITED, with Retry-After)",
  503: "Database unavailable, or password hashing saturated (with Retry-After)",
} as const;

type ErrorStatus = keyof typeof errorDescriptions;

/** Documents error responses with the shared error body; 503 is added to every route. */
export function errorResponses<S extends ErrorStatus>(...statuses: S[]) {
  const all = [...new Set<ErrorStatus>([...statuses, 503])];
  return Object.fromEntries(
    all.map((s) => [s, jsonContent(ErrorSchema, errorDescriptions[s])]),
  ) as Record<S | 503, ReturnType<typeof jsonContent<typeof ErrorSchema>>>;
}

/** The errors every JSON-body route can produce before its handler runs. */
export const bodyErrors = [400, 413, 415] as const;

export const bearerSecurity = [{ bearerAuth: [] }];
