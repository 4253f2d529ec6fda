import { hashPassword } from "../../auth/password";
import { assertAcceptablePassword } from "../../auth/password-policy";
import { alreadyTaken, forbidden, invalidCredentials, lockedOut } from "../../errors";
import type { AppRouteHandler } from "../../http/handler";
import { occasionOf } from "../../http/occasion";
import { checkPassword } from "../../login/check-password";
import { recordSuccess } from "../../login/login-throttle.store";
import { startMfaLogin } from "../../mfa/mfa-login";
import { newSession } from "../../sessions/sessions";
import { insertUser, usernameOrEmailTaken } from "../../users/user.store";
import type * as routes from "./auth.routes";

export const register: AppRouteHandler<routes.RegisterRoute> = async (c) => {
  const body = c.req.valid("json");
  const { db, hasher, clock } = c.get("deps");
  assertAcceptablePassword(body.password, body);
  // Cheap refusal before argon2; the unique indexes still decide races.
  if (await usernameOrEmailTaken(db, body.username, body.email)) throw alreadyTaken();

  const passwordHash = await hashPassword(hasher, body.password);
  const now = clock.now();
  const account = {
    username: body.username,
    email: body.email,
    firstName: body.first_name,
    lastName: body.last_name,
    passwordHash,
    createdAt: now,
    updatedAt: now,
  };
  const created = await insertUser(db, account, occasionOf(c, now));
  if (created === "taken") throw alreadyTaken();
  return c.json({ msg: "User registered successfully." }, 201);
};

export const login: AppRouteHandler<routes.LoginRoute> = async (c) => {
  const { username, password } = c.req.valid("json");
  const deps = c.get("deps");
  const occasion = occasionOf(c);
  const attempt = { login: username, password, refusal: invalidCredentials };
  const user = await checkPassword(deps, attempt, occasion);
  // The right password of an account with a factor: no tokens yet, and no count reset.
  if (user.active && user.mfaEnabled) return c.json(await startMfaLogin(deps, username, user), 200);
  const session = user.active ? newSession(deps, user, occasion.at) : undefined;
  const audit = { occasion, account: user };
  const lockedFor = await recordSuccess(deps.db, username, session?.stored, audit);
  if (lockedFor) throw lockedOut(lockedFor);
  if (!session) throw forbidden("Your account is deactivated.");
  return c.json(await session.pair(), 200);
};
