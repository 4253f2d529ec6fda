import { randomBytes } from "node:crypto";
import { sha256Hex } from "../auth/tokens";

// Backup codes: 10 per factor, single use, shown once. Each is 80 random bits (16 base32
// characters, shown as xxxx-xxxx-xxxx-xxxx); stored as SHA-256 hex like the app's other random
// tokens. A slow hash (argon2) would add nothing but cost: 2^80 candidates cannot be searched
// offline even at billions of SHA-256s a second, and online guesses meet the login lockout.

export const BACKUP_CODE_COUNT = 10;
const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/** A code in its canonical form: lower case, without the hyphen or spaces a person may type. */
export const canonicalBackupCode = (code: string) => code.toLowerCase().replace(/[\s-]/g, "");

export const hashBackupCode = (code: string) =>
  sha256Hex(`mfa-backup:${canonicalBackupCode(code)}`);

function newBackupCode() {
  // 32 divides 256: each byte's low five bits are uniform.
  const chars = Array.from(randomBytes(16), (b) => ALPHABET[b & 31]).join("");
  return chars.match(/.{4}/g)?.join("-") ?? chars;
}

/** A fresh set: the codes the person gets once, and the hashes the store keeps. */
export function newBackupCodes() {
  const codes = Array.from({ length: BACKUP_CODE_COUNT }, newBackupCode);
  return { codes, hashes: codes.map(hashBackupCode) };
}
