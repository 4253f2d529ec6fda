import type { Config } from "../config";
import { hashBackupCode } from "./backup-codes";
import type { Proof } from "./mfa.store";
import { openSecret, type SealedSecret, sealSecret } from "./secret-box";
import { acceptedStep, base32Secret, newTotpSecret, totpUri } from "./totp";

// The factor's secret between its sealed form and the codes it proves.

/** A TOTP code as typed: six digits. Anything else offered as `code` is a backup code. */
export const TOTP_CODE = /^\d{6}$/;

/** A new secret for `account`: sealed for the store, and what the person's app needs. */
export async function newEnrollment(config: Config, account: { id: number; username: string }) {
  const secret = newTotpSecret();
  const sealed = await sealSecret(config.mfaKeys, account.id, secret);
  return {
    sealed,
    shown: {
      secret: base32Secret(secret),
      otpauth_url: totpUri(config.mfaIssuer, account.username, secret),
    },
  };
}

/** A stored factor as the code checks need it. */
export type StoredFactor = { sealed: SealedSecret; lastUsedStep: number | null };

/** The TOTP step `code` proves (later than the last one used), else undefined. */
export async function totpProof(
  config: Config,
  userId: number,
  factor: StoredFactor,
  code: string,
  at: Date,
): Promise<Proof | undefined> {
  if (!TOTP_CODE.test(code)) return undefined;
  const secret = await openSecret(config.mfaKeys, userId, factor.sealed);
  const step = acceptedStep(secret, code, at, factor.lastUsedStep);
  return step === undefined ? undefined : { kind: "totp", step };
}

/**
 * What `code` would prove: a TOTP step when it is six digits and right, else a backup code (its
 * hash; the store decides whether it is one of the account's, unused).
 */
export async function proofOf(
  config: Config,
  userId: number,
  factor: StoredFactor,
  code: string,
  at: Date,
): Promise<Proof | undefined> {
  if (TOTP_CODE.test(code)) return totpProof(config, userId, factor, code, at);
  return { kind: "backup_code", hash: hashBackupCode(code) };
}
