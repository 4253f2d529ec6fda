import { eq, inArray, sql } from "drizzle-orm";
import type { Config, RateLimitRule } from "../config";
import type { Database } from "../db/database";
import { loginThrottles, rateLimits } from "../db/schema";

// Counters that hold across Node instances and Worker isolates: consecutive failed logins per
// login name, and per-client request counts per route.

const MAX_LOCKOUT_SECONDS = 15 * 60;
// Failures further apart than this no longer count as consecutive.
const FORGET_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * The throttle key of a login attempt: the name as typed (username or email, any case), for real
 * and unknown names alike. Keying real accounts by id would leak which email belongs to which
 * username (fail on the username, then see which email is already locked); the price is that an
 * account's username and email are throttled separately.
 */
export const throttleKey = (login: string) => `login:${login.toLowerCase()}`;

const secondsUntil = (lockedUntil: Date | null, now: Date) =>
  lockedUntil && lockedUntil > now ? (lockedUntil.getTime() - now.getTime()) / 1000 : 0;

/** The key's failure record (absent after a success), with the seconds it is still locked for. */
export async function readThrottle(db: Database, key: string, now: Date) {
  const [row] = await db.select().from(loginThrottles).where(eq(loginThrottles.key, key));
  if (!row) return undefined;
  return { failures: row.failures, lockedForSeconds: secondsUntil(row.lockedUntil, now) };
}

/**
 * Records a failed login. Guesses sent at once all pass readThrottle while argon2 runs, so
 * outcomes are settled again under the row lock: once one of them has earned a lock, the others'
 * answers are withheld (429), exactly as if they had arrived after it. From the threshold on, each failure locks the key for
 * base * 2^(failures - threshold) seconds, at most 15 minutes. A failure landing while the key is
 * already locked is not counted; returns the seconds that lock still lasts (else 0).
 */
export async function recordFailure(
  db: Database,
  key: string,
  lockout: Config["lockout"],
  now: Date,
): Promise<number> {
  return db.transaction(async (tx) => {
    await tx
      .insert(loginThrottles)
      .values({ key, failures: 0, updatedAt: now })
      .onConflictDoNothing();
    // The row lock serializes concurrent failures of one key so none is lost.
    const [row] = await tx
      .select()
      .from(loginThrottles)
      .where(eq(loginThrottles.key, key))
      .for("update");
    const lockedFor = secondsUntil(row?.lockedUntil ?? null, now);
    if (lockedFor) return lockedFor;
    const stale = !row || now.getTime() - row.updatedAt.getTime() > FORGET_AFTER_MS;
    const failures = (stale ? 0 : row.failures) + 1;
    const over = failures - lockout.threshold;
    const seconds = over < 0 ? 0 : Math.min(lockout.baseSeconds * 2 ** over, MAX_LOCKOUT_SECONDS);
    await tx
      .update(loginThrottles)
      .set({
        failures,
        lockedUntil: seconds ? new Date(now.getTime() + seconds * 1000) : null,
        updatedAt: now,
      })
      .where(eq(loginThrottles.key, key));
    return 0;
  });
}

/**
 * Records a successful login: clears the count, unless concurrent failures locked the key while
 * the password was being checked; then returns the seconds that lock still lasts (else 0).
 */
export async function recordSuccess(db: Database, key: string, now: Date): Promise<number> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(loginThrottles)
      .where(eq(loginThrottles.key, key))
      .for("update");
    if (!row) return 0;
    const lockedFor = secondsUntil(row.lockedUntil, now);
    if (!lockedFor) await tx.delete(loginThrottles).where(eq(loginThrottles.key, key));
    return lockedFor;
  });
}

/** A password reset lifts the lockout of every name the account logs in with. */
export async function clearFailures(db: Database, account: { username: string; email: string }) {
  const keys = [throttleKey(account.username), throttleKey(account.email)];
  await db.delete(loginThrottles).where(inArray(loginThrottles.key, keys));
}

/**
 * Counts one hit in a fixed window, in one atomic upsert (a new window restarts the count at 1).
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
