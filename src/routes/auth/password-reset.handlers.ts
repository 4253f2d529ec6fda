import { and, desc, eq, gt, sql } from "drizzle-orm";
import { clearFailures } from "../../abuse/login-throttle";
import { hashPassword } from "../../auth/password";
import { assertAcceptablePassword } from "../../auth/password-policy";
import { randomToken, sha256Hex } from "../../auth/tokens";
import { passwordResetTokens, users } from "../../db/schema";
import { invalidResetToken } from "../../errors";
import type { AppRouteHandler } from "../../lib/handler";
import { resetPasswordEmail } from "../../mail/mailer";
import { findActiveByUsernameAndEmail, findById } from "../../users/user.store";
import type * as routes from "./auth.routes";

export const forgetPassword: AppRouteHandler<routes.ForgetPasswordRoute> = async (c) => {
  const body = c.req.valid("json");
  const { db, clock, config, mailer, defer } = c.var.deps;
  const msg = "If the account exists, a password reset link has been sent.";
  const user = await findActiveByUsernameAndEmail(db, body.username, body.email);
  if (!user) return c.json({ msg }, 200);

  const token = randomToken();
  const tokenHash = await sha256Hex(token);
  const issued = await db.transaction(async (tx) => {
    // Locking the account row makes concurrent requests take turns; without it each deletes only
    // tokens already committed, not the other's, and both new tokens stay live.
    await tx.select({ id: users.id }).from(users).where(eq(users.id, user.id)).for("update");
    // Read after the lock: a request that took its turn first must not look like the future.
    const now = clock.now();
    const [latest] = await tx
      .select({ createdAt: passwordResetTokens.createdAt })
      .from(passwordResetTokens)
      .where(eq(passwordResetTokens.userId, user.id))
      .orderBy(desc(passwordResetTokens.createdAt))
      .limit(1);
    // At most one email per RESET_EMAIL_INTERVAL: inside it the same answer, and nothing sent.
    if (latest && now.getTime() - latest.createdAt.getTime() < config.resetEmailInterval * 1000) {
      return false;
    }
    // A newer token voids every older one for the account.
    await tx.delete(passwordResetTokens).where(eq(passwordResetTokens.userId, user.id));
    await tx.insert(passwordResetTokens).values({
      tokenHash,
      userId: user.id,
      createdAt: now,
      expiresAt: new Date(now.getTime() + config.resetTokenTtl * 1000),
    });
    return true;
  });
  if (!issued) return c.json({ msg }, 200);
  const link = config.appUrl + token;
  defer(mailer.send(resetPasswordEmail(user.email, user.username, link, config.resetTokenTtl)));
  return c.json(config.exposeResetToken ? { msg, token } : { msg }, 200);
};

export const resetPassword: AppRouteHandler<routes.ResetPasswordRoute> = async (c) => {
  const body = c.req.valid("json");
  const { db, hasher, clock } = c.var.deps;
  const tokenHash = await sha256Hex(body.token);
  const now = clock.now();
  const live = and(
    eq(passwordResetTokens.tokenHash, tokenHash),
    gt(passwordResetTokens.expiresAt, now),
  );

  // Refuse unknown tokens before paying for argon2.
  const [pending] = await db.select().from(passwordResetTokens).where(live).limit(1);
  const account = pending && (await findById(db, pending.userId));
  if (!account) throw invalidResetToken();
  assertAcceptablePassword(body.new_password, account, "new_password");
  const passwordHash = await hashPassword(hasher, body.new_password);

  const consumed = await db.transaction(async (tx) => {
    // DELETE ... RETURNING is the atomic consume: of N concurrent uses one gets the row.
    const [row] = await tx
      .delete(passwordResetTokens)
      .where(live)
      .returning({ userId: passwordResetTokens.userId });
    if (!row) return false;
    // The version bump revokes every access token and session issued before.
    await tx
      .update(users)
      .set({ passwordHash, tokenVersion: sql`${users.tokenVersion} + 1`, updatedAt: now })
      .where(eq(users.id, row.userId));
    return true;
  });
  if (!consumed) throw invalidResetToken();
  // Whoever holds the mailbox has proven it: a lockout earned by guessers ends here.
  await clearFailures(db, account);
  return c.json({ msg: "Password has been reset." }, 200);
};
