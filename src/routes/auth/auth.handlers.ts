import {
  lockedOutEntry,
  readLogin,
  recordFailure,
  recordSuccess,
} from "../../abuse/throttle.store";
import { recordAudit } from "../../audit/audit.store";
import { auditSource } from "../../audit/audit-source";
import { hashPassword, verifyPassword } from "../../auth/password";
import { assertAcceptablePassword } from "../../auth/password-policy";
import { alreadyTaken, forbidden, invalidCredentials, lockedOut } from "../../errors";
import type { AppRouteHandler } from "../../lib/handler";
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
  const created = await insertUser(db, account, auditSource(c, now));
  if (created === "taken") throw alreadyTaken();
  return c.json({ msg: "User registered successfully." }, 201);
};

export const login: AppRouteHandler<routes.LoginRoute> = async (c) => {
  const { username, password } = c.req.valid("json");
  const { db, hasher, clock, config } = c.get("deps");
  const now = clock.now();
  // Throttled by the name, known or not, so 429s reveal nothing about accounts.
  const { lockedForSeconds, user } = await readLogin(db, username, now);
  const audit = { source: auditSource(c, now), account: user };
  if (lockedForSeconds) {
    await recordAudit(db, lockedOutEntry(user), audit.source);
    throw lockedOut(lockedForSeconds);
  }

  // Unknown users are verified against a dummy hash: same answer, similar time.
  const ok = await verifyPassword(hasher, user?.passwordHash, password);
  // Concurrent attempts may have locked the name meanwhile: then this answer is withheld too.
  if (!user || !ok) {
    const lockedFor = await recordFailure(db, username, config.lockout, now, audit);
    if (lockedFor) throw lockedOut(lockedFor);
    throw invalidCredentials();
  }
  const session = user.active ? newSession(c.get("deps"), user, now) : undefined;
  const lockedFor = await recordSuccess(db, username, now, session?.stored, {
    ...audit,
    account: user,
  });
  if (lockedFor) throw lockedOut(lockedFor);
  if (!session) throw forbidden("Your account is deactivated.");
  return c.json(await session.pair(), 200);
};
