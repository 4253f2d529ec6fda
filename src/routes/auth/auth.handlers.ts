import { and, eq, gt, sql } from "drizzle-orm";
import { issueAccessToken } from "../../auth/jwt";
import { hashPassword, verifyPassword } from "../../auth/password";
import { randomToken, sha256Hex } from "../../auth/tokens";
import { isUniqueViolation } from "../../db/database";
import { passwordResetTokens, users } from "../../db/schema";
import { ApiError, forbidden } from "../../errors";
import type { AppRouteHandler } from "../../lib/handler";
import { resetPasswordEmail } from "../../mail/mailer";
import {
  findActiveByUsernameAndEmail,
  findByLogin,
  insertUser,
  usernameOrEmailTaken,
} from "../../users/user.store";
import type * as routes from "./auth.routes";

const conflict = () => new ApiError("CONFLICT", "Username or email is already taken.");
const invalidResetToken = () => new ApiError("INVALID_RESET_TOKEN", "Invalid or expired token.");

export const register: AppRouteHandler<routes.RegisterRoute> = async (c) => {
  const body = c.req.valid("json");
  const { db, hasher, clock } = c.var.deps;
  // Cheap refusal before argon2; the unique indexes still decide races (23505 below).
  if (await usernameOrEmailTaken(db, body.username, body.email)) throw conflict();

  const passwordHash = await hashPassword(hasher, body.password);
  const now = clock.now();
  try {
    await insertUser(db, {
      username: body.username,
      email: body.email,
      firstName: body.first_name,
      lastName: body.last_name,
      passwordHash,
      createdAt: now,
      updatedAt: now,
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict();
    throw error;
  }
  return c.json({ msg: "User registered successfully." }, 201);
};

export const login: AppRouteHandler<routes.LoginRoute> = async (c) => {
  const { username, password } = c.req.valid("json");
  const { db, hasher, clock, config } = c.var.deps;
  const user = await findByLogin(db, username);
  // Unknown users are verified against a dummy hash: same answer, similar time.
  const ok = await verifyPassword(hasher, user?.passwordHash, password);
  if (!user || !ok) throw new ApiError("UNAUTHORIZED", "Invalid username or password.");
  if (!user.active) throw forbidden("Your account is deactivated.");
  return c.json(await issueAccessToken(user, config.jwtSecret, config.accessTokenTtl, clock), 200);
};

export const forgetPassword: AppRouteHandler<routes.ForgetPasswordRoute> = async (c) => {
  const body = c.req.valid("json");
  const { db, clock, config, mailer, defer } = c.var.deps;
  const msg = "If the account exists, a password reset link has been sent.";
  const user = await findActiveByUsernameAndEmail(db, body.username, body.email);
  if (!user) return c.json({ msg }, 200);

  const token = randomToken();
  const tokenHash = await sha256Hex(token);
  const now = clock.now();
  await db.transaction(async (tx) => {
    // A newer token voids every older one for the account. Locking the account row makes
    // concurrent requests take turns; without it each deletes only tokens already committed, not
    // the other's, and both new tokens stay live.
    await tx.select({ id: users.id }).from(users).where(eq(users.id, user.id)).for("update");
    await tx.delete(passwordResetTokens).where(eq(passwordResetTokens.userId, user.id));
    await tx.insert(passwordResetTokens).values({
      tokenHash,
      userId: user.id,
      createdAt: now,
      expiresAt: new Date(now.getTime() + config.resetTokenTtl * 1000),
    });
  });
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
  if (!pending) throw invalidResetToken();
  const passwordHash = await hashPassword(hasher, body.new_password);

  const consumed = await db.transaction(async (tx) => {
    // DELETE ... RETURNING is the atomic consume: of N concurrent uses one gets the row.
    const [row] = await tx
      .delete(passwordResetTokens)
      .where(live)
      .returning({ userId: passwordResetTokens.userId });
    if (!row) return false;
    await tx
      .update(users)
      .set({ passwordHash, tokenVersion: sql`${users.tokenVersion} + 1`, updatedAt: now })
      .where(eq(users.id, row.userId));
    return true;
  });
  if (!consumed) throw invalidResetToken();
  return c.json({ msg: "Password has been reset." }, 200);
};
