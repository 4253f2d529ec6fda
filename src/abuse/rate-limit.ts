import { createMiddleware } from "hono/factory";
import type { RateLimitedRoute } from "../config";
import type { AppEnv } from "../deps";
import { ApiError } from "../errors";
import { hitRateLimit } from "./throttle.store";

export const tooManyRequests = (
  retryAfterSeconds: number,
  message = "Too many requests, slow down.",
) =>
  new ApiError("RATE_LIMITED", message, {
    headers: { "Retry-After": String(Math.max(1, Math.ceil(retryAfterSeconds))) },
  });

/** Per client IP limit for one route, configured by RATE_LIMIT_<ROUTE>. */
export const rateLimit = (route: RateLimitedRoute) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const { db, config, clock } = c.var.deps;
    const rule = config.rateLimits[route];
    if (rule) {
      const wait = await hitRateLimit(db, `${route}:${c.var.clientIp}`, rule, clock.now());
      if (wait !== undefined) throw tooManyRequests(wait);
    }
    await next();
  });
