import type { Hook } from "@hono/zod-openapi";
import type { ZodError } from "zod";
import type { AppEnv } from "../deps";
import { ApiError } from "../errors";

/** Turns a zod failure into the contract's 400 with one {path, message} per problem. */
export function validationError(error: ZodError): ApiError {
  const details = error.issues.flatMap((issue) => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({
        path: [...issue.path, key].join("."),
        message: "Unknown field.",
      }));
    }
    return [{ path: issue.path.join(".") || "(body)", message: issue.message }];
  });
  return new ApiError("VALIDATION_ERROR", "Invalid request.", { details });
}

/** zod-openapi hook: every validation failure goes through the one error path. */
export const defaultHook: Hook<unknown, AppEnv, string, unknown> = (result) => {
  if (!result.success) throw validationError(result.error);
};
