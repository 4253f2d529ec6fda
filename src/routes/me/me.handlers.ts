import type { Context } from "hono";
import { auditSource } from "../../audit/audit-source";
import { hashPassword, normalizePassword } from "../../auth/password";
import { assertAcceptablePassword } from "../../auth/password-policy";
import type { AppEnv } from "../../deps";
import { conflict, lockedOut, unauthorized, wrongPassword } from "../../errors";
import type { AppRouteHandler } from "../../http/handler";
import { invalidParameter } from "../../http/validation";
import { checkPassword } from "../../login/check-password";
import { changeOwnPassword, deleteOwnAccount } from "../../login/own-account.store";
import { newSession } from "../../sessions/sessions";
import { toPublicUser, updateOwnNames } from "../../users/user.store";
import type * as routes from "./me.routes";

export const getMe: AppRouteHandler<routes.GetMeRoute> = async (c) =>
  c.json(toPublicUser(c.get("currentUser")), 200);

export const updateMe: AppRouteHandler<routes.UpdateMeRoute> = async (c) => {
  const { first_name, last_name } = c.req.valid("json");
  const { db, clock } = c.get("deps");
  // Names are not in the token: no revocation. The write still needs the token to hold then.
  const names = { firstName: first_name, lastName: last_name };
  const now = clock.now();
  const updated = await updateOwnNames(db, c.get("currentUser"), names, now, auditSource(c, now));
  if (!updated) throw unauthorized();
  return c.json(toPublicUser(updated), 200);
};

/** The caller's own password checked as login checks one, its username the login name. */
async function verifyOwnPassword(c: Context<AppEnv>, password: string, now: Date) {
  const me = c.get("currentUser");
  const source = auditSource(c, now);
  const attempt = { login: me.username, password, account: me, refusal: wrongPassword };
  await checkPassword(c.get("deps"), attempt, source);
  return source;
}

export const changePassword: AppRouteHandler<routes.ChangePasswordRoute> = async (c) => {
  const { current_password, new_password } = c.req.valid("json");
  const me = c.get("currentUser");
  const { db, hasher, clock } = c.get("deps");
  const now = clock.now();
  // Every refusal that needs no argon2 comes first.
  assertAcceptablePassword(new_password, me, "new_password");
  const source = await verifyOwnPassword(c, current_password, now);
  if (normalizePassword(new_password) === normalizePassword(current_password)) {
    throw invalidParameter("new_password", "must differ from the current password");
  }
  const passwordHash = await hashPassword(hasher, new_password);
  // The fresh session is born with the version the change bumps to, so it alone survives it.
  const session = newSession(c.get("deps"), { ...me, tokenVersion: me.tokenVersion + 1 }, now);
  const outcome = await changeOwnPassword(db, me, passwordHash, session.stored, now, source);
  if (outcome.lockedFor) throw lockedOut(outcome.lockedFor);
  // The token stopped holding meanwhile (deactivated, another password change…): nothing changed.
  if (!outcome.changed) throw unauthorized();
  return c.json(await session.pair(), 200);
};

export const deleteMe: AppRouteHandler<routes.DeleteMeRoute> = async (c) => {
  const { password } = c.req.valid("json");
  const me = c.get("currentUser");
  const { db, clock } = c.get("deps");
  const now = clock.now();
  const source = await verifyOwnPassword(c, password, now);
  const outcome = await deleteOwnAccount(db, me, now, source);
  if (outcome.lockedFor) throw lockedOut(outcome.lockedFor);
  if (outcome.deleted) return c.json({ msg: "Account deleted." }, 200);
  if (outcome.lastAdmin) throw conflict("The last active ADMIN cannot delete itself.");
  throw unauthorized();
};
