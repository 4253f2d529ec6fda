import { createMiddleware } from "hono/factory";
import type { RateLimitedRoute } from "../config";
import type { AppEnv } from "../deps";
import { tooManyRequests } from "../errors";
import { hitRateLimit } from "./throttle.store";

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
