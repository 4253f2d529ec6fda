import type { Context } from "hono";
import type { Occasion } from "../../audit/audit.store";
import { hashPassword, normalizePassword } from "../../auth/password";
import { assertAcceptablePassword } from "../../auth/password-policy";
import type { AppEnv } from "../../deps";
import { conflict, lockedOut, unauthorized, wrongPassword } from "../../errors";
import type { AppRouteHandler } from "../../http/handler";
import { occasionOf } from "../../http/occasion";
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
  const { db } = c.get("deps");
  // Names are not in the token: no revocation. The write still needs the token to hold then.
  const names = { firstName: first_name, lastName: last_name };
  const updated = await updateOwnNames(db, c.get("currentUser"), names, occasionOf(c));
  if (!updated) throw unauthorized();
  return c.json(toPublicUser(updated), 200);
};

/** The caller's own password checked as login checks one, its username the login name. */
export async function verifyOwnPassword(c: Context<AppEnv>, password: string, occasion: Occasion) {
  const me = c.get("currentUser");
  const attempt = { login: me.username, password, account: me, refusal: wrongPassword };
  await checkPassword(c.get("deps"), attempt, occasion);
}

export const changePassword: AppRouteHandler<routes.ChangePasswordRoute> = async (c) => {
  const { current_password, new_password } = c.req.valid("json");
  const me = c.get("currentUser");
  const { db, hasher } = c.get("deps");
  const occasion = occasionOf(c);
  // Every refusal that needs no argon2 comes first.
  assertAcceptablePassword(new_password, me, "new_password");
  await verifyOwnPassword(c, current_password, occasion);
  if (normalizePassword(new_password) === normalizePassword(current_password)) {
    throw invalidParameter("new_password", "must differ from the current password");
  }
  const passwordHash = await hashPassword(hasher, new_password);
  // The fresh session is born with the version the change bumps to, so it alone survives it.
  const fresh = { ...me, tokenVersion: me.tokenVersion + 1 };
  const session = newSession(c.get("deps"), fresh, occasion.at);
  const outcome = await changeOwnPassword(db, me, passwordHash, session.stored, occasion);
  if (outcome.lockedFor) throw lockedOut(outcome.lockedFor);
  // The token stopped holding meanwhile (deactivated, another password change…): nothing changed.
  if (!outcome.changed) throw unauthorized();
  return c.json(session.pair(), 200);
};

export const deleteMe: AppRouteHandler<routes.DeleteMeRoute> = async (c) => {
  const { password } = c.req.valid("json");
  const me = c.get("currentUser");
  const { db } = c.get("deps");
  const occasion = occasionOf(c);
  await verifyOwnPassword(c, password, occasion);
  const outcome = await deleteOwnAccount(db, me, occasion);
  if (outcome.lockedFor) throw lockedOut(outcome.lockedFor);
  if (outcome.deleted) return c.json({ msg: "Account deleted." }, 200);
  if (outcome.lastAdmin) throw conflict("The last active ADMIN cannot delete itself.");
  throw unauthorized();
};
