import { sql } from "drizzle-orm";
import type { RateLimitRule } from "../config";
import { type Database, deleteStaleRows, preparedPerDatabase, pruneCutoff } from "../db/database";
import { rateLimits } from "../db/schema";

// Per-client request counts per route, held across Node instances and Worker isolates.

const hitQuery = preparedPerDatabase((db) =>
  db
    .insert(rateLimits)
    .values({ key: sql.placeholder("key"), windowStart: sql.placeholder("windowStart"), count: 1 })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        count: sql`CASE WHEN "rate_limits"."window_start" = excluded."window_start" THEN "rate_limits"."count" + 1 ELSE 1 END`,
        windowStart: sql`excluded."window_start"`,
      },
    })
    .returning({ count: rateLimits.count })
    .prepare("hit_rate_limit"),
);

/**
 * Counts one hit in a fixed window, in one atomic upsert (a new window restarts the count at 1).
 * Returns the seconds to wait when the hit is over the limit, else undefined, and whether it is
 * the first hit over the limit in its window.
 */
export async function hitRateLimit(db: Database, key: string, rule: RateLimitRule, now: Date) {
  const windowMs = rule.seconds * 1000;
  const windowStart = new Date(Math.floor(now.getTime() / windowMs) * windowMs);
  const [row] = await hitQuery(db).execute({ key, windowStart });
  if (!row || row.count <= rule.count) return undefined;
  const wait = (windowStart.getTime() + windowMs - now.getTime()) / 1000;
  return { wait, first: row.count === rule.count + 1 };
}

/**
 * Deletes, in batches, the counters whose window has ended (the next hit starts a new window at 1
 * either way), PRUNE_GRACE_SECONDS later. Rows do not say their window, so the longest configured
 * window is waited for.
 */
export function pruneRateLimits(
  db: Database,
  now: Date,
  longestWindowSeconds: number,
  signal?: AbortSignal,
) {
  const stale = sql`window_start < ${pruneCutoff(now, longestWindowSeconds)}`;
  return deleteStaleRows(db, { table: "rate_limits", key: "key", stale }, signal);
}
