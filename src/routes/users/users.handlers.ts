import { hashPassword } from "../../auth/password";
import { assertAcceptablePassword } from "../../auth/password-policy";
import { randomToken, sha256Hex } from "../../auth/tokens";
import type { User } from "../../db/schema";
import {
  adminOnly,
  alreadyTaken,
  conflict,
  forbidden,
  notFound,
  onlyUsersDeletable,
} from "../../errors";
import type { AppRouteHandler } from "../../http/handler";
import { paginatedListing } from "../../http/listing";
import { occasionOf } from "../../http/occasion";
import { isPlausibleUsername } from "../../users/user.fields";
import {
  deleteUserAccount,
  findById,
  findByUsername,
  listUsers as listUsersPage,
  toPublicUser,
  updateAccount,
} from "../../users/user.store";
import { mailEmailLink } from "../auth/email-links";
import type * as routes from "./users.routes";

const isSelf = (me: User, username: string) => me.username.toLowerCase() === username.toLowerCase();

export const getUser: AppRouteHandler<routes.GetUserRoute> = async (c) => {
  const me = c.get("currentUser");
  const { username } = c.req.valid("param");
  if (isSelf(me, username)) return c.json(toPublicUser(me), 200);
  // A USER learns nothing about other accounts, existing or not.
  if (me.role !== "ADMIN") throw adminOnly();
  const target =
    isPlausibleUsername(username) && (await findByUsername(c.get("deps").db, username));
  if (!target) throw notFound("user");
  return c.json(toPublicUser(target), 200);
};

/** Guarded by requireAuth and requireAdmin (users.index.ts). */
export const updateUser: AppRouteHandler<routes.UpdateUserRoute> = async (c) => {
  const me = c.get("currentUser");
  const { username } = c.req.valid("param");
  const { password, first_name, last_name, ...rest } = c.req.valid("json");
  const { db, hasher, config } = c.get("deps");
  if (!isPlausibleUsername(username)) throw notFound("user");

  let passwordHash: string | undefined;
  if (password !== undefined) {
    // The policy needs the account's names; argon2 runs before any lock is held.
    const target = await findByUsername(db, username);
    if (!target) throw notFound("user");
    assertAcceptablePassword(password, {
      username: rest.username ?? target.username,
      email: rest.email ?? target.email,
    });
    passwordHash = await hashPassword(hasher, password);
  }
  const demotesSelf = isSelf(me, username) && (rest.role === "USER" || rest.active === false);
  const changes = { ...rest, firstName: first_name, lastName: last_name, passwordHash };
  // A new email gets a verification link, issued by the same statement.
  const token = randomToken();
  const verification = {
    tokenHash: sha256Hex(token),
    purpose: "verify",
    ttlSeconds: config.emailVerifyTtl,
  } as const;
  const options = {
    guardLastAdmin: demotesSelf,
    actor: me,
    occasion: occasionOf(c),
    verification,
  };
  const updated = await updateAccount(db, username, changes, options);
  if (updated === "missing") throw notFound("user");
  if (updated === "forbidden") throw forbidden("An ADMIN cannot modify another ADMIN.");
  if (updated === "last_admin")
    throw conflict("The last active ADMIN cannot demote or deactivate itself.");
  if (updated === "taken") throw alreadyTaken();
  if (updated.linkIssued) {
    // In the account's language, not the ADMIN's.
    const to = { ...updated, language: updated.mailLanguage };
    mailEmailLink(c, "email_verification", to, token);
  }
  return c.json({ msg: "User details updated.", user: toPublicUser(updated) }, 200);
};

/** Guarded by requireAuth and requireAdmin (users.index.ts). */
export const deleteUser: AppRouteHandler<routes.DeleteUserRoute> = async (c) => {
  const me = c.get("currentUser");
  const { username } = c.req.valid("param");
  if (isSelf(me, username)) throw forbidden("You cannot delete your own account here.");
  const { db } = c.get("deps");
  const target = isPlausibleUsername(username) && (await findByUsername(db, username));
  if (!target) throw notFound("user");
  if (target.role !== "USER") throw onlyUsersDeletable();
  // Access tokens fail the account lookup from now on.
  const audit = { actor: me, occasion: occasionOf(c) };
  if (await deleteUserAccount(db, target.id, audit)) return c.json({ msg: "User deleted." }, 200);
  // The delete removes USERs only: an account still there was promoted meanwhile.
  if (await findById(db, target.id)) throw onlyUsersDeletable();
  throw notFound("user");
};

export const listUsers: AppRouteHandler<routes.ListUsersRoute> = async (c) => {
  const { limit, cursor, q, role, active, verified } = c.req.valid("query");
  const { db } = c.get("deps");
  const query = {
    scope: ["GET /api/users", q, role, active, verified],
    cursor,
    sameParams: "q, role, active and verified",
  };
  const flag = (value?: "true" | "false") => (value === undefined ? undefined : value === "true");
  const filters = { q, role, active: flag(active), verified: flag(verified) };
  const { page, next_cursor } = await paginatedListing(c, query, (afterId) =>
    listUsersPage(db, filters, { afterId, limit }),
  );
  return c.json({ users: page.rows.map(toPublicUser), next_cursor, total: page.total }, 200);
};
