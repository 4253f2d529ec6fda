import { createMiddleware } from "hono/factory";
import type { RateLimitedRoute } from "../config";
import type { AppEnv } from "../deps";
import { tooManyRequests } from "../errors";
import { rateLimitClient } from "./client-ip";
import { hitRateLimit } from "./throttle.store";

/** Per client IP (an IPv6 client by its /64) limit for one route, set by RATE_LIMIT_<ROUTE>. */
export const rateLimit = (route: RateLimitedRoute) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const { db, config, clock } = c.get("deps");
    const rule = config.rateLimits[route];
    if (rule) {
      const key = `${route}:${rateLimitClient(c.get("clientIp"))}`;
      const wait = await hitRateLimit(db, key, rule, clock.now());
      if (wait !== undefined) throw tooManyRequests(wait);
    }
    await next();
  });
