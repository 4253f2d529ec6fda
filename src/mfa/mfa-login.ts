import type { Occasion } from "../audit/audit.store";
import { recordAudit } from "../audit/audit.store";
import { randomToken, sha256Hex } from "../auth/tokens";
import type { User } from "../db/schema";
import type { Deps } from "../deps";
import { invalidMfaCode, lockedOut, unauthorized } from "../errors";
import { lockedOutEntry, recordFailure } from "../login/login-throttle.store";
import { newSession } from "../sessions/sessions";
import { hashBackupCode } from "./backup-codes";
import { totpProof } from "./factor";
import {
  completeChallenge,
  countWrongCode,
  readChallenge,
  startChallenge,
} from "./mfa-login.store";

// A login in two steps: the password step answers an mfa_token (random, 256 bits, stored as its
// hash, bound to the account's token version and to the login name whose lockout counts), the
// second step trades it and a code for the session.

type MfaDeps = Pick<Deps, "db" | "config" | "clock">;

/** After the right password of an account with a factor: the challenge the client answers. */
export async function startMfaLogin(deps: MfaDeps, login: string, user: User) {
  const { db, config, clock } = deps;
  const now = clock.now();
  const token = randomToken();
  const expiresAt = new Date(now.getTime() + config.mfaTokenTtl * 1000);
  const challenge = { tokenHash: sha256Hex(token), login, user, expiresAt };
  const lockedFor = await startChallenge(db, challenge, now);
  if (lockedFor) throw lockedOut(lockedFor);
  return { mfa_required: true as const, mfa_token: token, expires_in: config.mfaTokenTtl };
}

const deadToken = () => unauthorized("Invalid or expired MFA token.");

/**
 * The second step: a live token and, under the login name's lockout, a right code or unused backup
 * code give the session a login without a factor would. A wrong one counts against the token
 * and as a failed login of the name (login.mfa_failed).
 */
export async function completeMfaLogin(
  deps: MfaDeps,
  answer: { mfa_token: string; code?: string; backup_code?: string },
  occasion: Occasion,
) {
  const { db, config } = deps;
  const tokenHash = sha256Hex(answer.mfa_token);
  const challenge = await readChallenge(db, tokenHash, occasion.at);
  if (!challenge) throw deadToken();
  const account = challenge.user;
  if (challenge.lockedForSeconds) {
    await recordAudit(db, lockedOutEntry(account), occasion);
    throw lockedOut(challenge.lockedForSeconds);
  }
  const proof =
    answer.code !== undefined
      ? await totpProof(config, account.id, challenge.factor, answer.code, occasion.at)
      : { kind: "backup_code" as const, hash: hashBackupCode(answer.backup_code ?? "") };
  if (proof) {
    const session = newSession(deps, account, occasion.at);
    const outcome = await completeChallenge(
      db,
      tokenHash,
      challenge,
      proof,
      session.stored,
      occasion,
    );
    if (outcome.lockedFor) throw lockedOut(outcome.lockedFor);
    if (outcome.done) return session.pair();
    // Spent meanwhile (the token, the step or the backup code): refused like a wrong code.
  }
  const detail = answer.code !== undefined ? "totp" : "backup_code";
  await countWrongCode(db, tokenHash);
  const failure = { action: "login.mfa_failed", detail } as const;
  const lockedFor = await recordFailure(db, challenge.login, config.lockout, {
    occasion,
    account,
    failure,
  });
  if (lockedFor) throw lockedOut(lockedFor);
  throw invalidMfaCode(401);
}
