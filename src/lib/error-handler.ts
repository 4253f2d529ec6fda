import type { ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { isDatabaseUnavailable, pgErrorCode } from "../db/database";
import type { AppEnv } from "../deps";
import { ApiError, type ErrorCode, serviceUnavailable } from "../errors";

const codeByHttpStatus: Record<number, ErrorCode> = {
  400: "VALIDATION_ERROR",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
};

/** The one place errors become responses; nothing internal ever reaches the client. */
export const errorHandler: ErrorHandler<AppEnv> = (error, c) => {
  let apiError: ApiError;
  if (error instanceof ApiError) {
    apiError = error;
  } else if (isDatabaseUnavailable(error)) {
    apiError = serviceUnavailable();
    log(c.var.requestId, "warn", error);
  } else if (error instanceof HTTPException && codeByHttpStatus[error.status]) {
    const code = codeByHttpStatus[error.status] as ErrorCode;
    apiError = new ApiError(code, error.status === 400 ? "Invalid request." : error.message);
  } else {
    apiError = new ApiError("INTERNAL", "Internal server error.");
    log(c.var.requestId, "error", error);
  }
  return c.json(apiError.body, apiError.status, apiError.options.headers);
};

/**
 * Logs the innermost cause only: Drizzle's wrapper message carries the query parameters, which
 * can include password hashes, and those never enter a log.
 */
function log(requestId: string | undefined, level: "warn" | "error", error: unknown) {
  let inner = error;
  while (inner instanceof Error && inner.cause !== undefined) inner = inner.cause;
  const e = inner instanceof Error ? inner : new Error(String(inner));
  const entry = { level, requestId, error: e.name, code: pgErrorCode(error), message: e.message };
  console.error(JSON.stringify(level === "error" ? { ...entry, stack: e.stack } : entry));
}
