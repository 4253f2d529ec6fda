import { createMiddleware } from "hono/factory";
import { setResponseHeaders } from "../http/response-headers";

const NO_STORE = [["Cache-Control", "no-store"]] as const;

/**
 * `Cache-Control: no-store` on every /api response, errors included: tokens and account data never
 * belong in a browser or proxy cache (RFC 6749 §5.1). Set before the handler, as the security
 * headers are, so the error handler's responses carry it too.
 */
export const noStore = createMiddleware(async (c, next) => {
  setResponseHeaders(c, NO_STORE);
  await next();
});
