import type { ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { UnofficialStatusCode } from "hono/utils/http-status";
import { isDatabaseUnavailable } from "../db/database";
import { failureFields } from "../db/failure";
import type { AppEnv } from "../deps";
import {
  ApiError,
  ClientClosedRequest,
  type ErrorCode,
  errorTable,
  internalError,
  invalidRequest,
  serviceUnavailable,
} from "../errors";
import { log } from "../log/log";

/**
 * What Hono's own HTTPExceptions become: the first code of their status in the table. Only 4xx:
 * a 5xx one is an internal failure, answered as INTERNAL and logged.
 */
const codeByHttpStatus = new Map<number, ErrorCode>();
for (const [code, { status }] of Object.entries(errorTable) as [ErrorCode, { status: number }][]) {
  if (status < 500 && !codeByHttpStatus.has(status)) codeByHttpStatus.set(status, code);
}

/** The one place errors become responses; nothing internal ever reaches the client. */
export const errorHandler: ErrorHandler<AppEnv> = (error, c) => {
  // Checked first: the error the body stream failed with can carry ECONNRESET, a code of a lost
  // database connection, and a client's hang-up would read as an outage.
  if (error instanceof ClientClosedRequest) {
    return c.body(null, ClientClosedRequest.status as UnofficialStatusCode);
  }
  let apiError: ApiError;
  if (error instanceof ApiError) {
    apiError = error;
  } else if (isDatabaseUnavailable(error)) {
    apiError = serviceUnavailable();
    logFailure(c.get("requestId"), "warn", error);
  } else if (error instanceof HTTPException && codeByHttpStatus.has(error.status)) {
    const code = codeByHttpStatus.get(error.status) as ErrorCode;
    apiError = error.status === 400 ? invalidRequest() : new ApiError(code, error.message);
  } else {
    apiError = internalError();
    logFailure(c.get("requestId"), "error", error);
  }
  return c.json(apiError.body, apiError.status, apiError.options.headers);
};

/** Logs a failure by its innermost cause (failureFields), with the stack when unexpected. */
function logFailure(requestId: string | undefined, level: "warn" | "error", error: unknown) {
  log(level, level === "error" ? "unexpected error" : "database unavailable", {
    request_id: requestId,
    ...failureFields(error, { stack: level === "error" }),
  });
}
