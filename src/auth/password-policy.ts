import { dictionary } from "@zxcvbn-ts/language-common";
import { ApiError } from "../errors";
import { normalizePassword } from "./password";

// zxcvbn-ts's list of ~49,000 most common passwords (from breach corpora), most common first.
// Only entries that pass the length rule can ever match, so only those are kept.
let blocklist: Set<string> | undefined;
const commonPasswords = () => {
  blocklist ??= new Set(
    (dictionary["passwords-common"] as string[])
      .filter((p) => [...p].length >= 8)
      .map((p) => p.toLowerCase()),
  );
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
