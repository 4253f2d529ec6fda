import { createMiddleware } from "hono/factory";
import { setResponseHeaders } from "../http/response-headers";

/**
 * The headers of hono/secure-headers' defaults (tests/node/security-headers.test.ts checks they
 * stay equal), set before the handler runs (setResponseHeaders): secureHeaders adds them to the
 * finished response, which turns @hono/node-server's prepared response into a full Headers
 * object on every request (about a tenth of an authenticated read).
 */
export const SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ["Cross-Origin-Resource-Policy", "same-origin"],
  ["Cross-Origin-Opener-Policy", "same-origin"],
  ["Origin-Agent-Cluster", "?1"],
  ["Referrer-Policy", "no-referrer"],
  ["Strict-Transport-Security", "max-age=15552000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-DNS-Prefetch-Control", "off"],
  ["X-Download-Options", "noopen"],
  ["X-Frame-Options", "SAMEORIGIN"],
  ["X-Permitted-Cross-Domain-Policies", "none"],
  ["X-XSS-Protection", "0"],
];

export const securityHeaders = createMiddleware(async (c, next) => {
  setResponseHeaders(c, SECURITY_HEADERS);
  await next();
});
