import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../deps";
import { hashingSaturated } from "../errors";

/**
 * The routes that hash refuse at once, before any database work, while the cap's queue is full
 * (src/auth/hash-limiter.ts).
 */
export const requireHashCapacity = createMiddleware<AppEnv>(async (c, next) => {
  if (c.get("deps").hasher.saturated?.()) throw hashingSaturated();
  await next();
});
