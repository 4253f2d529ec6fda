import { createMiddleware } from "hono/factory";

/**
 * `Cache-Control: no-store` on every /api response, errors included: tokens and account data never
 * belong in a browser or proxy cache (RFC 6749 §5.1). Set before the handler, as the security
 * headers are, so the error handler's responses carry it too.
 */
export const noStore = createMiddleware(async (c, next) => {
  c.header("Cache-Control", "no-store");
  await next();
});
