import { and, eq, sql } from "drizzle-orm";
import { hashPassword } from "../../auth/password";
import { assertAcceptablePassword } from "../../auth/password-policy";
import { isUniqueViolation } from "../../db/database";
import { passwordResetTokens, type User, users } from "../../db/schema";
import { alreadyTaken, conflict, forbidden, notFound } from "../../errors";
import type { AppRouteHandler } from "../../lib/handler";
import { isPlausibleUsername } from "../../users/user.fields";
import {
  anotherActiveAdminExists,
  findByUsername,
  toPublicUser,
  usernameIs,
} from "../../users/user.store";
import type * as routes from "./users.routes";

const isSelf = (me: User, username: string) => me.username.toLowerCase() === username.toLowerCase();

const requireAdmin = (me: User) => {
  if (me.role !== "ADMIN") throw forbidden("Only an ADMIN can do this.");
};

export const getUser: AppRouteHandler<routes.GetUserRoute> = async (c) => {
  const me = c.var.currentUser;
  const { username } = c.req.valid("param");
  if (isSelf(me, username)) return c.json(toPublicUser(me), 200);
  // A USER learns nothing about other accounts, existing or not.
  requireAdmin(me);
  const target = isPlausibleUsername(username) && (await findByUsername(c.var.deps.db, username));
  if (!target) throw notFound("user");
  return c.json(toPublicUser(target), 200);
};

export const updateUser: AppRouteHandler<routes.UpdateUserRoute> = async (c) => {
  const me = c.var.currentUser;
  requireAdmin(me);
  const { username } = c.req.valid("param");
  const body = c.req.valid("json");
  const { db, hasher, clock } = c.var.deps;
  if (!isPlausibleUsername(username)) throw notFound("user");

  let passwordHash: string | undefined;
  if (body.password !== undefined) {
    // The policy needs the account's names; argon2 runs before the transaction holds locks.
    const target = await findByUsername(db, username);
    if (!target) throw notFound("user");
    assertAcceptablePassword(body.password, {
      username: body.username ?? target.username,
      email: body.email ?? target.email,
    });
    passwordHash = await hashPassword(hasher, body.password);
  }
  const demotes = body.role === "USER" || body.active === false;
  const updated = await db
    .transaction(async (tx) => {
      if (demotes && isSelf(me, username)) {
        // Lock every active admin in id order before anything else, so two admins demoting
        // themselves at once queue on the same first row instead of deadlocking (40P01).
        await tx
          .select({ id: users.id })
          .from(users)
          .where(and(eq(users.role, "ADMIN"), eq(users.active, true)))
          .orderBy(users.id)
          .for("update");
      }
      const [target] = await tx.select().from(users).where(usernameIs(username)).for("update");
      if (!target) throw notFound("user");
      if (target.role === "ADMIN" && target.id !== me.id)
        throw forbidden("An ADMIN cannot modify another ADMIN.");

      if (target.id === me.id && demotes && !(await anotherActiveAdminExists(tx, me.id))) {
        throw conflict("The last active ADMIN cannot demote or deactivate itself.");
      }
      // These changes invalidate what an access token asserts, so they revoke the account's tokens.
      const revokes =
        passwordHash !== undefined ||
        (body.role !== undefined && body.role !== target.role) ||
        (body.active !== undefined && body.active !== target.active) ||
        (body.username !== undefined && body.username !== target.username);
      const [row] = await tx
        .update(users)
        .set({
          username: body.username,
          email: body.email,
          firstName: body.first_name,
          lastName: body.last_name,
          role: body.role,
          active: body.active,
          passwordHash,
          tokenVersion: revokes ? sql`${users.tokenVersion} + 1` : undefined,
          updatedAt: clock.now(),
        })
        .where(eq(users.id, target.id))
        .returning();
      // A reset link already mailed must not outlive a new password or a move to a new mailbox.
      if (passwordHash !== undefined || (body.email !== undefined && body.email !== target.email)) {
        await tx.delete(passwordResetTokens).where(eq(passwordResetTokens.userId, target.id));
      }
      return row;
    })
    .catch((error: unknown) => {
      if (isUniqueViolation(error)) throw alreadyTaken();
      throw error;
    });
  if (!updated) throw notFound("user");
  return c.json({ msg: "User details updated.", user: toPublicUser(updated) }, 200);
};

export const deleteUser: AppRouteHandler<routes.DeleteUserRoute> = async (c) => {
  const me = c.var.currentUser;
  requireAdmin(me);
  const { username } = c.req.valid("param");
  if (isSelf(me, username)) throw forbidden("You cannot delete your own account here.");
  const { db } = c.var.deps;
  const target = isPlausibleUsername(username) && (await findByUsername(db, username));
  if (!target) throw notFound("user");
  if (target.role !== "USER") throw forbidden("Only USER accounts can be deleted.");

  // Reset tokens go with the row (ON DELETE CASCADE); access tokens fail the lookup from now on.
  const deleted = await db
    .delete(users)
    .where(and(eq(users.id, target.id), eq(users.role, "USER")))
    .returning({ id: users.id });
  if (deleted.length === 0) throw notFound("user");
  return c.json({ msg: "User deleted." }, 200);
};
