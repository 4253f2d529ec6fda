import { type Occasion, recordAudit } from "../audit/audit.store";
import { verifyPassword } from "../auth/password";
import type { User } from "../db/schema";
import type { Deps } from "../deps";
import { type ApiError, lockedOut } from "../errors";
import { lockedOutEntry, readLogin, recordFailure } from "./login-throttle.store";

/** A password to check under the lockout of the login name it was given with. */
export type PasswordAttempt = {
  /** The name the lockout counts by: what was typed at login, the caller's username elsewhere. */
  login: string;
  password: string;
  /**
   * The account whose password it must be: the caller, on the routes that ask an authenticated
   * caller for its password. Without it (login), the account the login name finds, if any.
   */
  account?: User;
  /** The answer to a wrong password (or a name that finds no account) while nothing is locked. */
  refusal: () => ApiError;
};

/**
 * The password check under the lockout, for login and for every route that asks for a password
 * again (POST /api/me/password, DELETE /api/me, a second factor next). A locked name is a 429
 * (recorded as login.throttled) before any argon2 work; a wrong password counts as a failed login
 * and is `refusal`, or a 429 once it locks the name. So whoever holds a stolen access token gets
 * no more guesses than at login, and since the name is throttled known or not, a 429 reveals
 * nothing about accounts. Returns the account whose password it is; the caller's statement then
 * settles the success under the name's row lock (verifiedPasswordGate), because concurrent
 * failures may have locked the name while argon2 ran.
 */
export async function checkPassword(
  { db, hasher, config }: Pick<Deps, "db" | "hasher" | "config">,
  attempt: PasswordAttempt,
  occasion: Occasion,
): Promise<User> {
  const found = await readLogin(db, attempt.login, occasion.at);
  const account = attempt.account ?? found.user;
  if (found.lockedForSeconds) {
    await recordAudit(db, lockedOutEntry(account), occasion);
    throw lockedOut(found.lockedForSeconds);
  }
  // An unknown name is verified against a dummy hash: same answer, similar time.
  if (!(await verifyPassword(hasher, account?.passwordHash, attempt.password)) || !account) {
    const lockedFor = await recordFailure(db, attempt.login, config.lockout, {
      occasion,
      account,
    });
    if (lockedFor) throw lockedOut(lockedFor);
    throw attempt.refusal();
  }
  return account;
}
