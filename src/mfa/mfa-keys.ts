import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";

/** An AES-256 key of MFA_ENCRYPTION_KEY (or an old one kept for decrypting) and its id. */
export type MfaKey = { id: string; bytes: Uint8Array<ArrayBuffer> };

const KEY_SHAPE =
  "must be 32 bytes in base64 or base64url (43 characters, or 44 with '='), e.g. `openssl rand -base64 32`";

/**
 * A key's id is the first 8 hex digits of its SHA-256: stored beside each ciphertext, it names
 * the key that sealed it without naming keys by hand, and reveals nothing usable about the key.
 */
export function mfaKey(bytes: Uint8Array<ArrayBuffer>): MfaKey {
  return { id: createHash("sha256").update(bytes).digest("hex").slice(0, 8), bytes };
}

/** A random key for a development process (its factors then die with it). */
export const randomMfaKey = () => mfaKey(new Uint8Array(randomBytes(32)));

const decodeKey = (text: string) =>
  mfaKey(Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)));

/** One key: 32 bytes, base64 or base64url. Messages never quote the value. */
export const mfaKeyText = z
  .string(KEY_SHAPE)
  .regex(/^[A-Za-z0-9+/_-]{43}=?$/, KEY_SHAPE)
  .transform(decodeKey);

/** MFA_OLD_ENCRYPTION_KEYS: comma-separated keys accepted for decrypting only (rotation). */
export const mfaOldKeys = z
  .string()
  .transform((text) =>
    text
      .split(",")
      .map((k) => k.trim())
      .filter(Boolean),
  )
  .pipe(z.array(mfaKeyText));
