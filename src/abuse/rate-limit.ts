import { sql } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import type { RateLimitedRoute, RateLimitRule } from "../config";
import type { Database } from "../db/database";
import { rateLimits } from "../db/schema";
import type { AppEnv } from "../deps";
import { tooManyRequests } from "../errors";

/**
 * Counts one hit in a fixed window kept in the database, so every Node instance and Worker isolate
 * shares it. One atomic upsert: a new window restarts the count at 1.
 * Returns the seconds to wait when the hit is over the limit, else undefined.
 */
export async function hitRateLimit(db: Database, key: string, rule: RateLimitRule, now: Date) {
  const windowMs = rule.seconds * 1000;
  const windowStart = new Date(Math.floor(now.getTime() / windowMs) * windowMs);
  const [row] = await db
    .insert(rateLimits)
    .values({ key, windowStart, count: 1 })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        count: sql`CASE WHEN "rate_limits"."window_start" = excluded."window_start" THEN "rate_limits"."count" + 1 ELSE 1 END`,
        windowStart: sql`excluded."window_start"`,
      },
    })
    .returning({ count: rateLimits.count });
  if (!row || row.count <= rule.count) return undefined;
  return (windowStart.getTime() + windowMs - now.getTime()) / 1000;
}

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
