import { z } from "@hono/zod-openapi";

// The query parameters of every cursor-paginated listing (GET /api/users, GET /api/audit).

const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;

/** `limit`: 1–100, default 20. Digits only: no sign, exponent, spaces or hex, which Number() takes. */
export const pageLimitParam = (description: string) =>
  z
    .string()
    .regex(/^\d{1,3}$/, `must be an integer from 1 to ${MAX_PAGE_SIZE}`)
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_PAGE_SIZE))
    .default(DEFAULT_PAGE_SIZE)
    .openapi({
      param: { name: "limit", in: "query" },
      type: "integer",
      minimum: 1,
      maximum: MAX_PAGE_SIZE,
      default: DEFAULT_PAGE_SIZE,
      description,
    });

/** A text a listing filters by: 1–254 characters, no control characters. */
export const filterTextParam = () =>
  z
    .string()
    .min(1)
    .max(254)
    .refine((s) => !/\p{Cc}/u.test(s), "must not contain control characters");

/** `cursor`: the opaque `next_cursor` of the previous page (src/http/cursor.ts). */
export const cursorParam = (description: string) =>
  z
    .string()
    .max(200)
    .optional()
    .openapi({ param: { name: "cursor", in: "query" }, description });
