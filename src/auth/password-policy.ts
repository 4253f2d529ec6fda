import { ApiError } from "../errors";
import list from "./common-passwords";
import { normalizePassword } from "./password";

// Built on first use: the Worker's start-up stays short, and most requests never need it.
let blocklist: Set<string> | undefined;
const commonPasswords = () => {
  blocklist ??= new Set(list.split("\n"));
  return blocklist;
};

/** Why a password is refused for this account, or undefined when it is acceptable. */
export function passwordProblem(
  password: string,
  account: { username: string; email: string },
): string | undefined {
  const candidate = normalizePassword(password).toLowerCase();
  if (candidate === account.username.toLowerCase()) return "must not be the username";
  const local = account.email.slice(0, account.email.lastIndexOf("@")).toLowerCase();
  if (candidate === local) return "must not be the email address's local part";
  if (commonPasswords().has(candidate))
    return "is too common (it appears in lists of breached passwords)";
  return undefined;
}

/** Throws the contract's 400 with the reason when the password is refused by the policy. */
export function assertAcceptablePassword(
  password: string,
  account: { username: string; email: string },
  field = "password",
) {
  const problem = passwordProblem(password, account);
  if (problem) {
    throw new ApiError("VALIDATION_ERROR", `Password ${problem}.`, {
      details: [{ path: field, message: problem }],
    });
  }
}
