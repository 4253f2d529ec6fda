import type { ContentfulStatusCode } from "hono/utils/http-status";

const statusByCode = {
  VALIDATION_ERROR: 400,
  INVALID_JSON: 400,
  INVALID_RESET_TOKEN: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  SERVICE_UNAVAILABLE: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof statusByCode;
export type ErrorDetail = { path: string; message: string };
export type ErrorBody = { msg: string; code: ErrorCode; details?: ErrorDetail[] };

/** The one error type handlers throw; `onError` turns it into the contract's error body. */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: { details?: ErrorDetail[]; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = statusByCode[code];
  }

  get body(): ErrorBody {
    const { details } = this.options;
    return details
      ? { msg: this.message, code: this.code, details }
      : { msg: this.message, code: this.code };
  }
}

export const unauthorized = (message = "Missing or invalid access token.") =>
  new ApiError("UNAUTHORIZED", message, { headers: { "WWW-Authenticate": "Bearer" } });

export const forbidden = (message = "You are not allowed to do this.") =>
  new ApiError("FORBIDDEN", message);

export const notFound = (message = "User not found.") => new ApiError("NOT_FOUND", message);

export const serviceUnavailable = () =>
  new ApiError("SERVICE_UNAVAILABLE", "Service temporarily unavailable, try again shortly.", {
    headers: { "Retry-After": "5" },
  });
