import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { matchedRoutes } from "hono/route";
import type { AppEnv } from "../deps";
import { log } from "../log/log";

/**
 * One JSON line per request: its id, method, route pattern, status and duration. The pattern
 * (`/api/user/:username`), never the path, and no header, query or body: nothing a user typed.
 * ACCESS_LOG=off silences it.
 */
export const accessLog = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now();
  await next();
  if (c.get("deps")?.config.accessLog === false) return;
  log("info", "request", {
    request_id: c.get("requestId"),
    method: c.req.method,
    route: routePattern(c),
    status: c.res.status,
    duration_ms: Math.round((performance.now() - started) * 10) / 10,
  });
});

/**
 * The pattern of the endpoint the request matched, or null when none did (the 404s). Endpoints
 * are registered for a method; middleware, for ALL (some on patterns such as /api/user/:username).
 */
const routePattern = (c: Context) =>
  matchedRoutes(c).findLast((route) => route.method !== "ALL")?.path ?? null;
