import { createMiddleware } from "hono/factory";
import { rateLimitClient } from "../abuse/client-ip";
import { hitRateLimit } from "../abuse/rate-limit.store";
import { recordAudit } from "../audit/audit.store";
import type { RateLimitedRoute } from "../config";
import type { AppEnv } from "../deps";
import { tooManyRequests } from "../errors";
import { occasionOf } from "../http/occasion";

/**
 * Per client IP (an IPv6 client by its /64) limit for one route, set by RATE_LIMIT_<ROUTE>. A
 * client's password checks (login, and the routes under /api/me that take a password) refused
 * here are recorded in the audit log as login.throttled (detail rate_limit), once per window:
 * the first refusal says a client is over the limit; the rest would only let it fill the log.
 */
export const rateLimit = (route: RateLimitedRoute) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const { db, config, clock } = c.get("deps");
    const rule = config.rateLimits[route];
    if (rule) {
      const key = `${route}:${rateLimitClient(c.get("clientIp"))}`;
      const now = clock.now();
      const over = await hitRateLimit(db, key, rule, now);
      if (over) {
        if (route === "LOGIN" && over.first) {
          const entry = { action: "login.throttled", detail: "rate_limit" } as const;
          await recordAudit(db, entry, occasionOf(c, now));
        }
        throw tooManyRequests(over.wait);
      }
    }
    await next();
  });
