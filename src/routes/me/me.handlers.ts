import { unauthorized } from "../../errors";
import type { AppRouteHandler } from "../../lib/handler";
import { toPublicUser, updateOwnNames } from "../../users/user.store";
import type * as routes from "./me.routes";

export const getMe: AppRouteHandler<routes.GetMeRoute> = async (c) =>
  c.json(toPublicUser(c.get("currentUser")), 200);

export const updateMe: AppRouteHandler<routes.UpdateMeRoute> = async (c) => {
  const { first_name, last_name } = c.req.valid("json");
  const { db, clock } = c.get("deps");
  // Names are not in the token: no revocation. The write still needs the token to hold then.
  const names = { firstName: first_name, lastName: last_name };
  const updated = await updateOwnNames(db, c.get("currentUser"), names, clock.now());
  if (!updated) throw unauthorized();
  return c.json(toPublicUser(updated), 200);
};
