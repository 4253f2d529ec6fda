import type { Hook } from "@hono/zod-openapi";
import type { ZodError } from "zod";
import type { AppEnv } from "../deps";
import { type ApiError, type ErrorDetail, invalidRequest } from "../errors";

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
  return invalidRequest(details);
}

/** The contract's 400 for one request parameter that its schema alone cannot judge. */
export const invalidParameter = (path: string, message: string) =>
  invalidRequest([{ path, message }]);

/** zod-openapi hook: every validation failure goes through the one error path. */
export const defaultHook: Hook<unknown, AppEnv, string, unknown> = (result) => {
  if (!result.success) throw validationError(result.error);
};

/** NUL (Postgres text cannot hold it: error 22021) and lone UTF-16 surrogates (not Unicode). */
const INVALID_TEXT = /[\0\p{Cs}]/u;

/**
 * Refuses a parsed JSON body with a NUL or a lone surrogate in any string or field name, at any
 * depth, so no field can miss the rule. Iterative: a body of MAX_BODY_BYTES can nest 30,000 levels deep.
 */
export function assertValidText(body: unknown) {
  const details: ErrorDetail[] = [];
  const report = (path: string[]) =>
    details.push({
      path: path.join(".") || "(body)",
      message: "must be valid Unicode text without NUL characters",
    });
  const pending: [unknown, string[]][] = [[body, []]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [value, path] = next;
    if (typeof value === "string") {
      if (INVALID_TEXT.test(value)) report(path);
    } else if (typeof value === "object" && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (INVALID_TEXT.test(key)) report([...path, key]);
        else pending.push([item, [...path, key]]);
      }
    }
  }
  if (details.length > 0) throw invalidRequest(details);
}
