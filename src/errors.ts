import { z } from "@hono/zod-openapi";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { MAX_BODY_TEXT } from "./http/body-limit";

/**
 * Every error the API answers with: its HTTP status and what it means. The code enum, the error
 * body, the status map of the error handler and each route's documented errors come from here.
 * Within a status, the first code is the one Hono's own HTTPExceptions of that status become.
 */
export const errorTable = {
  VALIDATION_ERROR: {
    status: 400,
    description: "Invalid request body or parameters (one details entry per problem)",
  },
  INVALID_JSON: { status: 400, description: "Request body is not valid JSON" },
  INVALID_RESET_TOKEN: { status: 400, description: "Unknown, used, voided or expired reset token" },
  INVALID_VERIFICATION_TOKEN: {
    status: 400,
    description: "Unknown, used, voided or expired email verification token",
  },
  INVALID_MFA_CODE: {
    status: 400,
    // The one code with a second status: a failed login at the login's second step.
    alsoStatus: 401,
    description:
      "Wrong, already used or out-of-window second-factor code (401 at /api/user/login/mfa, where it counts as a failed login)",
  },
  UNAUTHORIZED: {
    status: 401,
    description: "Wrong credentials, or a missing, invalid, expired or revoked token",
  },
  FORBIDDEN: { status: 403, description: "Not allowed" },
  EMAIL_NOT_VERIFIED: {
    status: 403,
    description: "The right password, but REQUIRE_VERIFIED_EMAIL is on and the email is unverified",
  },
  NOT_FOUND: { status: 404, description: "No such account or session" },
  METHOD_NOT_ALLOWED: { status: 405, description: "A known path, another method (see Allow)" },
  CONFLICT: {
    status: 409,
    description: "Conflicts with existing data (a taken username or email, the last active ADMIN)",
  },
  PAYLOAD_TOO_LARGE: { status: 413, description: `Request body over ${MAX_BODY_TEXT}` },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, description: "Content-Type is not application/json" },
  RATE_LIMITED: { status: 429, description: "Too many requests (with Retry-After)" },
  INTERNAL: { status: 500, description: "Internal server error" },
  SERVICE_UNAVAILABLE: {
    status: 503,
    description: "Database unavailable, or password hashing saturated (with Retry-After)",
  },
} as const satisfies Record<
  string,
  { status: ContentfulStatusCode; description: string; alsoStatus?: ContentfulStatusCode }
>;

export const ErrorCodeSchema = z.enum(
  Object.keys(errorTable) as [keyof typeof errorTable, ...(keyof typeof errorTable)[]],
);
export type ErrorCode = z.output<typeof ErrorCodeSchema>;
export type ErrorStatus = (typeof errorTable)[ErrorCode]["status"];

const ErrorDetailSchema = z.object({ path: z.string(), message: z.string() });
export type ErrorDetail = z.output<typeof ErrorDetailSchema>;

/** The one error body of the API (docs/api.md): `{msg, code, details?}`. */
export const ErrorBodySchema = z.object({
  msg: z.string(),
  code: ErrorCodeSchema,
  details: z.array(ErrorDetailSchema).optional(),
});
export type ErrorBody = z.output<typeof ErrorBodySchema>;

/** The one error type handlers throw; `onError` turns it into the contract's error body. */
export class ApiError extends Error {
  readonly status: ErrorStatus | 401;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: {
      details?: ErrorDetail[];
      headers?: Record<string, string>;
      /** Another status than the table's, for the one code two routes answer differently. */
      status?: ErrorStatus | 401;
    } = {},
  ) {
    super(message);
    this.status = options.status ?? errorTable[code].status;
  }

  get body(): ErrorBody {
    const { details } = this.options;
    return details
      ? { msg: this.message, code: this.code, details }
      : { msg: this.message, code: this.code };
  }
}

// The errors that recur; each message is written once, here.

/** Retry-After in whole seconds, at least 1. */
const retryAfter = (seconds: number) => String(Math.max(1, Math.ceil(seconds)));

/** The contract's 400 for a request that fails validation, one detail per problem. */
export const invalidRequest = (details?: ErrorDetail[]) =>
  new ApiError("VALIDATION_ERROR", "Invalid request.", details ? { details } : {});

export const invalidJson = () => new ApiError("INVALID_JSON", "Request body is not valid JSON.");

export const unauthorized = (message = "Missing or invalid access token.") =>
  new ApiError("UNAUTHORIZED", message, { headers: { "WWW-Authenticate": "Bearer" } });

/** Unknown login name and wrong password answer alike, so neither confirms an account. */
export const invalidCredentials = () => unauthorized("Invalid username or password.");

/** A password asked for again (by a route the caller is authenticated for) was wrong. */
export const wrongPassword = () => unauthorized("Invalid password.");

export const forbidden = (message = "You are not allowed to do this.") =>
  new ApiError("FORBIDDEN", message);

/** The caller is not an ADMIN, where only an ADMIN may act (or read another account). */
export const adminOnly = () => forbidden("Only an ADMIN can do this.");

/** DELETE /api/user/{username} removes USER accounts only. */
export const onlyUsersDeletable = () => forbidden("Only USER accounts can be deleted.");

/** "User not found." with a noun, "Not found." without (an unknown path). */
export const notFound = (noun?: string) =>
  new ApiError(
    "NOT_FOUND",
    noun ? `${noun[0]?.toUpperCase()}${noun.slice(1)} not found.` : "Not found.",
  );

/** 405 with the methods the path does answer. */
export const methodNotAllowed = (allowed: string[]) =>
  new ApiError("METHOD_NOT_ALLOWED", "Method not allowed.", {
    headers: { Allow: allowed.join(", ") },
  });
export const payloadTooLarge = () =>
  new ApiError("PAYLOAD_TOO_LARGE", `Request body is larger than ${MAX_BODY_TEXT}.`);

export const unsupportedMediaType = () =>
  new ApiError("UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json.");

export const conflict = (message: string) => new ApiError("CONFLICT", message);

export const alreadyTaken = () => conflict("Username or email is already taken.");

/** POST /api/me/verify_email for an address already proven. */
export const alreadyVerified = () => conflict("Your email address is already verified.");
/**
 * A second-factor code that is wrong, already used or outside the window: 400 on the account's own
 * routes, 401 at the login's second step (a failed login there).
 */
export const invalidMfaCode = (status: 400 | 401 = 400) =>
  new ApiError("INVALID_MFA_CODE", "Invalid authentication code.", {
    ...(status === 401 && { status, headers: { "WWW-Authenticate": "Bearer" } }),
  });

export const invalidResetToken = () =>
  new ApiError("INVALID_RESET_TOKEN", "Invalid or expired token.");

export const invalidVerificationToken = () =>
  new ApiError("INVALID_VERIFICATION_TOKEN", "Invalid or expired token.");

/** Said only after the right password (REQUIRE_VERIFIED_EMAIL). */
export const emailNotVerified = () =>
  new ApiError(
    "EMAIL_NOT_VERIFIED",
    "Your email address is not verified. Open the link we mailed you, or reset your password.",
  );

/** 429 with Retry-After in whole seconds, at least 1. */
export const tooManyRequests = (seconds: number, message = "Too many requests, slow down.") =>
  new ApiError("RATE_LIMITED", message, { headers: { "Retry-After": retryAfter(seconds) } });

export const lockedOut = (seconds: number) =>
  tooManyRequests(seconds, "Too many failed logins, try again later.");

/** 503 with Retry-After: the database is unreachable, or the given reason. */
export const serviceUnavailable = (
  seconds = 5,
  message = "Service temporarily unavailable, try again shortly.",
) =>
  new ApiError("SERVICE_UNAVAILABLE", message, { headers: { "Retry-After": retryAfter(seconds) } });

/** 503: the cap on argon2 work in flight is reached (src/auth/hash-limiter.ts). */
export const hashingSaturated = () =>
  serviceUnavailable(1, "Too many password checks in progress, retry shortly.");

/**
 * Thrown when the client hangs up before its request body arrived whole. Not one of the API's
 * answers (no one is left to read it), so not in the error table: it is answered, and so logged,
 * as 499, nginx's "client closed request". A 4xx because the client ended the request; a 400
 * would read as a malformed request that did arrive, a 5xx as an outage of ours.
 */
export class ClientClosedRequest extends Error {
  override name = "ClientClosedRequest";
  static readonly status = 499;

  constructor() {
    super("The client closed the connection before its request body arrived whole.");
  }
}

/** Never the details of what went wrong: those go to the log only. */
export const internalError = () => new ApiError("INTERNAL", "Internal server error.");
