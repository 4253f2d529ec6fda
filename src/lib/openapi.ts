import { z } from "@hono/zod-openapi";
import type { ZodType } from "zod";
import { ErrorBodySchema, type ErrorCode, type ErrorStatus, errorTable } from "../errors";

export const ErrorSchema = ErrorBodySchema.openapi("Error");

export const MessageSchema = z.object({ msg: z.string() }).openapi("Message");

export const jsonContent = <T extends ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

/** A required JSON request body (the validator refuses a missing one). */
export const jsonContentRequired = <T extends ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

type StatusOf<C extends ErrorCode> = (typeof errorTable)[C]["status"];
type ErrorResponse = ReturnType<typeof jsonContent<typeof ErrorSchema>>;

/** One line per code, for a status that several of a route's codes share. */
const describe = (codes: ErrorCode[]) =>
  codes.map((code) => `${code}: ${errorTable[code].description}`).join("; ");

/**
 * Documents a route's error responses, by code, with the shared error body. Codes that share a
 * status share its response and its description; SERVICE_UNAVAILABLE (a database outage) is added
 * to every route.
 */
export function errorResponses<C extends ErrorCode>(...codes: C[]) {
  const byStatus = new Map<ErrorStatus, ErrorCode[]>();
  for (const code of new Set<ErrorCode>([...codes, "SERVICE_UNAVAILABLE"])) {
    const { status } = errorTable[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, shared]) => [status, jsonContent(ErrorSchema, describe(shared))]),
  ) as Record<StatusOf<C> | 503, ErrorResponse>;
}

/** The errors every JSON-body route can give before its handler runs. */
export const bodyErrors = [
  "VALIDATION_ERROR",
  "INVALID_JSON",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
] as const satisfies ErrorCode[];

/**
 * The errors of a route that takes no body when a request sends one anyway: it is still checked
 * like any other body (DELETE may carry one; a Request cannot send one with GET).
 */
export const strayBodyErrors = [
  "INVALID_JSON",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
] as const satisfies ErrorCode[];

export const bearerSecurity = [{ bearerAuth: [] }];

/** Said explicitly, so a reader (and a linter) knows the route is public on purpose. */
export const noSecurity = [];
