import { z } from "@hono/zod-openapi";
import type { ZodType } from "zod";
import {
  type ApiError,
  alreadyTaken,
  ErrorBodySchema,
  type ErrorCode,
  type ErrorStatus,
  emailNotVerified,
  errorTable,
  forbidden,
  internalError,
  invalidJson,
  invalidMfaCode,
  invalidRequest,
  invalidResetToken,
  invalidVerificationToken,
  methodNotAllowed,
  notFound,
  payloadTooLarge,
  serviceUnavailable,
  tooManyRequests,
  unauthorized,
  unsupportedMediaType,
} from "../errors";

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

/**
 * What each documented error shows as its example: the API's own error, so a reader (and Swagger
 * UI) sees the code of that response rather than the first one of the schema's enum.
 */
const errorExamples: { [C in ErrorCode]: Pick<ApiError, "body" | "options"> } = {
  VALIDATION_ERROR: invalidRequest([{ path: "email", message: "Invalid email address" }]),
  INVALID_JSON: invalidJson(),
  INVALID_RESET_TOKEN: invalidResetToken(),
  INVALID_VERIFICATION_TOKEN: invalidVerificationToken(),
  INVALID_MFA_CODE: invalidMfaCode(),
  UNAUTHORIZED: unauthorized(),
  FORBIDDEN: forbidden(),
  EMAIL_NOT_VERIFIED: emailNotVerified(),
  NOT_FOUND: notFound("user"),
  METHOD_NOT_ALLOWED: methodNotAllowed(["GET", "HEAD"]),
  CONFLICT: alreadyTaken(),
  PAYLOAD_TOO_LARGE: payloadTooLarge(),
  UNSUPPORTED_MEDIA_TYPE: unsupportedMediaType(),
  RATE_LIMITED: tooManyRequests(30),
  INTERNAL: internalError(),
  SERVICE_UNAVAILABLE: serviceUnavailable(),
};

/** The headers the errors carry (errors.ts sets them), as the document describes them. */
const errorHeaders: Record<string, string> = {
  Allow: "The methods this path answers",
  "Retry-After": "Seconds to wait before trying again",
  "WWW-Authenticate": "The scheme to authenticate with: Bearer",
};

/**
 * One response for the codes sharing a status: each code described and given its example. Also for
 * a route whose status for a code is not the table's (INVALID_MFA_CODE at the login's second step).
 */
export function errorResponse(codes: ErrorCode[]) {
  const headerNames = new Set(
    codes.flatMap((c) => Object.keys(errorExamples[c].options.headers ?? {})),
  );
  const response = jsonContent(
    ErrorSchema,
    codes.map((code) => `${code}: ${errorTable[code].description}`).join("; "),
  );
  const examples = Object.fromEntries(
    codes.map((code) => [
      code,
      { summary: errorTable[code].description, value: errorExamples[code].body },
    ]),
  );
  return {
    ...response,
    content: { "application/json": { ...response.content["application/json"], examples } },
    ...(headerNames.size > 0 && {
      headers: Object.fromEntries(
        [...headerNames].map((name) => [
          name,
          { description: errorHeaders[name], schema: { type: "string" as const } },
        ]),
      ),
    }),
  };
}

type ErrorResponse = ReturnType<typeof errorResponse>;

function responsesByStatus(codes: ErrorCode[]) {
  const byStatus = new Map<ErrorStatus, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const { status } = errorTable[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<number, ErrorResponse> = {};
  for (const [status, shared] of byStatus) responses[status] = errorResponse(shared);
  return responses;
}

/**
 * Documents a route's error responses, by code, with the shared error body. Codes that share a
 * status share its response and its description. Added to every route: SERVICE_UNAVAILABLE (a
 * database outage) and METHOD_NOT_ALLOWED (its path asked with a method it does not have, with
 * Allow: OpenAPI puts responses on operations only, so the path's 405 is listed on each).
 */
export function errorResponses<C extends ErrorCode>(...codes: C[]) {
  return responsesByStatus([...codes, "METHOD_NOT_ALLOWED", "SERVICE_UNAVAILABLE"]) as Record<
    StatusOf<C> | 405 | 503,
    ErrorResponse
  >;
}

/** A route that never reads the database (/health) answers only its path's 405. */
export const offlineErrorResponses = () =>
  responsesByStatus(["METHOD_NOT_ALLOWED"]) as Record<405, ErrorResponse>;

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
