import { hashPassword } from "../../auth/password";
import { assertAcceptablePassword } from "../../auth/password-policy";
import { randomToken, sha256Hex } from "../../auth/tokens";
import {
  alreadyTaken,
  emailNotVerified,
  forbidden,
  invalidCredentials,
  lockedOut,
} from "../../errors";
import type { AppRouteHandler } from "../../http/handler";
import { acceptLanguageOf } from "../../http/language";
import { occasionOf } from "../../http/occasion";
import { checkPassword } from "../../login/check-password";
import { recordSuccess } from "../../login/login-throttle.store";
import { startMfaLogin } from "../../mfa/mfa-login";
import { newSession } from "../../sessions/sessions";
import { insertUser, usernameOrEmailTaken } from "../../users/user.store";
import type * as routes from "./auth.routes";
import { mailEmailLink } from "./email-links";

export const register: AppRouteHandler<routes.RegisterRoute> = async (c) => {
  const body = c.req.valid("json");
  const { db, hasher, clock, config } = c.get("deps");
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
    mailLanguage: acceptLanguageOf(c),
    createdAt: now,
    updatedAt: now,
  };
  // The first verification link is issued by the statement that creates the account.
  const token = randomToken();
  const verification = {
    tokenHash: sha256Hex(token),
    purpose: "verify",
    ttlSeconds: config.emailVerifyTtl,
  } as const;
  const created = await insertUser(db, account, occasionOf(c, now), { verification });
  if (created === "taken") throw alreadyTaken();
  const to = { ...account, email: body.email };
  mailEmailLink(c, "email_verification", to, token);
  return c.json({ msg: "User registered successfully." }, 201);
};

export const login: AppRouteHandler<routes.LoginRoute> = async (c) => {
  const { username, password } = c.req.valid("json");
  const deps = c.get("deps");
  const occasion = occasionOf(c);
  const attempt = { login: username, password, refusal: invalidCredentials };
  const user = await checkPassword(deps, attempt, occasion);
  // Told only now that the password is proven; like a deactivated account's, the right password
  // still clears the name's failures (recordSuccess), and the entry is a login.failed. Both are
  // said before a second factor is asked for.
  const refused: "deactivated" | "unverified" | undefined = !user.active
    ? "deactivated"
    : deps.config.requireVerifiedEmail && !user.emailVerified
      ? "unverified"
      : undefined;
  // The right password of an account with a factor: no tokens yet, and no count reset.
  if (!refused && user.mfaEnabled) return c.json(await startMfaLogin(deps, username, user), 200);
  const session = refused ? undefined : newSession(deps, user, occasion.at);
  const audit = { occasion, account: user, refused };
  const lockedFor = await recordSuccess(deps.db, username, session?.stored, audit);
  if (lockedFor) throw lockedOut(lockedFor);
  if (refused === "deactivated") throw forbidden("Your account is deactivated.");
  if (!session) throw emailNotVerified();
  return c.json(session.pair(), 200);
};
