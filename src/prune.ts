import { pruneRateLimits } from "./abuse/rate-limit.store";
import { failureFields } from "./db/failure";
import type { Deps } from "./deps";
import { pruneLoginThrottles } from "./login/login-throttle.store";
import { pruneMfaChallenges } from "./mfa/mfa-login.store";
import { pruneResetTokens } from "./password-reset/reset-token.store";
import { pruneSessions } from "./sessions/session.store";

// Data lifecycle: the rows that can no longer matter, deleted by the periodic job on Node, the
// Cron Trigger on Workers and `npm run db:prune`. The rules live with each table's store.

/** How many rows of each kind a prune deleted. */
export type PruneCounts = {
  refreshTokens: number;
  sessions: number;
  resetTokens: number;
  loginThrottles: number;
  rateLimits: number;
  mfaChallenges: number;
};

export type PruneDeps = Pick<Deps, "db" | "config" | "clock">;

/** Deletes every stale row, table by table in batches; `signal` stops it between batches. */
export async function pruneStaleRows(
  { db, config, clock }: PruneDeps,
  signal?: AbortSignal,
): Promise<PruneCounts> {
  const now = clock.now();
  const windows = Object.values(config.rateLimits).map((rule) => rule?.seconds ?? 0);
  const sessions = await pruneSessions(db, now, config.accessTokenTtl, signal);
  const resetTokens = await pruneResetTokens(db, now, config.resetEmailInterval, signal);
  const loginThrottles = await pruneLoginThrottles(db, now, signal);
  const rateLimits = await pruneRateLimits(db, now, Math.max(0, ...windows), signal);
  const mfaChallenges = await pruneMfaChallenges(db, now, signal);
  return { ...sessions, resetTokens, loginThrottles, rateLimits, mfaChallenges };
}

/**
 * A prune for a background job: its counts or its failure logged as one JSON line. It never
 * rejects; the failure is logged by its innermost cause (failureFields).
 */
export async function runPrune(deps: PruneDeps, signal?: AbortSignal) {
  try {
    const counts = await pruneStaleRows(deps, signal);
    console.log(JSON.stringify({ level: "info", msg: "pruned stale rows", ...counts }));
    return counts;
  } catch (error) {
    const entry = failureFields(error);
    console.error(JSON.stringify({ level: "error", msg: "prune failed", ...entry }));
    return undefined;
  }
}
