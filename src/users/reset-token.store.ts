import { and, desc, eq, gt, sql } from "drizzle-orm";
import { type Database, deleteInBatches, pruneCutoff } from "../db/database";
import { passwordResetTokens, type User, users } from "../db/schema";
import type { Clock } from "../deps";
import { bumpedTokenVersion } from "./user.store";

// Password-reset tokens, stored only as their SHA-256.

/**
 * Issues a reset token for the account unless one was issued less than `intervalSeconds` ago;
 * a new token voids every older one. Returns whether it was issued (and may be mailed).
 */
export async function issueResetToken(
  db: Database,
  userId: number,
  tokenHash: string,
  clock: Clock,
  rules: { ttlSeconds: number; intervalSeconds: number },
): Promise<boolean> {
  return db.transaction(async (tx) => {
    // Locking the account row makes concurrent requests take turns; without it each deletes only
    // tokens already committed, not the other's, and both new tokens stay live.
    await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for("update");
    // Read after the lock: a request that took its turn first must not look like the future.
    const now = clock.now();
    const [latest] = await tx
      .select({ createdAt: passwordResetTokens.createdAt })
      .from(passwordResetTokens)
      .where(eq(passwordResetTokens.userId, userId))
      .orderBy(desc(passwordResetTokens.createdAt))
      .limit(1);
    if (latest && now.getTime() - latest.createdAt.getTime() < rules.intervalSeconds * 1000) {
      return false;
    }
    await tx.delete(passwordResetTokens).where(eq(passwordResetTokens.userId, userId));
    await tx.insert(passwordResetTokens).values({
      tokenHash,
      userId,
      createdAt: now,
      expiresAt: new Date(now.getTime() + rules.ttlSeconds * 1000),
    });
    return true;
  });
}

const liveToken = (tokenHash: string, now: Date) =>
  and(eq(passwordResetTokens.tokenHash, tokenHash), gt(passwordResetTokens.expiresAt, now));

/** The account a live (unused, unexpired) reset token belongs to. */
export async function findResetTokenHolder(
  db: Database,
  tokenHash: string,
  now: Date,
): Promise<User | undefined> {
  const [row] = await db
    .select({ user: users })
    .from(passwordResetTokens)
    .innerJoin(users, eq(users.id, passwordResetTokens.userId))
    .where(liveToken(tokenHash, now))
    .limit(1);
  return row?.user;
}

/**
 * Consumes the token and sets the new password in one transaction, revoking every access token
 * and session issued before. Of N concurrent uses exactly one returns true.
 */
export async function resetPasswordWithToken(
  db: Database,
  tokenHash: string,
  passwordHash: string,
  now: Date,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    // DELETE ... RETURNING is the atomic consume: of N concurrent uses one gets the row.
    const [row] = await tx
      .delete(passwordResetTokens)
      .where(liveToken(tokenHash, now))
      .returning({ userId: passwordResetTokens.userId });
    if (!row) return false;
    await tx
      .update(users)
      .set({ passwordHash, tokenVersion: bumpedTokenVersion(), updatedAt: now })
      .where(eq(users.id, row.userId));
    return true;
  });
}

/**
 * Deletes reset tokens that can no longer matter, in batches. A used token is deleted when it is
 * used and a voided one when its successor is issued, so what is left to prune has expired; it
 * goes once it is also older than RESET_EMAIL_INTERVAL, because the newest token of an account
 * dates its last mail (issueResetToken), plus PRUNE_GRACE_SECONDS for both.
 */
export async function pruneResetTokens(
  db: Database,
  now: Date,
  emailIntervalSeconds: number,
  signal?: AbortSignal,
) {
  return deleteInBatches(
    db,
    (limit) => sql`delete from password_reset_tokens where token_hash in (
        select token_hash from password_reset_tokens
        where expires_at < ${pruneCutoff(now)}
          and created_at < ${pruneCutoff(now, emailIntervalSeconds)}
        limit ${limit} for update skip locked
      )`,
    signal,
  );
}
