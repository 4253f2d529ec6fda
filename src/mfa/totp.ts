import { encodeBase32NoPadding } from "@oslojs/encoding";
import { createTOTPKeyURI, generateHOTP, verifyHOTP } from "@oslojs/otp";

// TOTP as the contract fixes it (RFC 6238): SHA-1, 6 digits, 30-second steps, the current step
// and one either side. @oslojs/otp computes the codes (HOTP of the step); the step comes from
// the app's clock, never Date.now(), so tests can stand at any instant.

export const TOTP_PERIOD = 30;
export const TOTP_DIGITS = 6;
/** Steps accepted either side of the current one. */
const WINDOW = 1;

/** A new secret: 20 random bytes (160 bits, RFC 4226's recommended length for SHA-1). */
export const newTotpSecret = () => crypto.getRandomValues(new Uint8Array(20));

/** The secret as authenticator apps take it: base32, RFC 4648, no padding. */
export const base32Secret = (secret: Uint8Array) => encodeBase32NoPadding(secret);

/** The otpauth:// URI (Google Authenticator's Key Uri Format) a QR code carries. */
export const totpUri = (issuer: string, account: string, secret: Uint8Array) =>
  createTOTPKeyURI(issuer, account, secret, TOTP_PERIOD, TOTP_DIGITS);

/** The step an instant falls in. */
export const totpStep = (at: Date) => Math.floor(at.getTime() / 1000 / TOTP_PERIOD);

/** The code of one step, through the library (what the RFC's vectors are checked against). */
export const totpCode = (secret: Uint8Array, step: number, digits = TOTP_DIGITS) =>
  generateHOTP(secret, BigInt(step), digits);

/**
 * The step `code` is right for, within the window around `at` and later than `lastUsedStep`
 * (a code accepted once is refused again, and so is any older one), else undefined.
 */
export function acceptedStep(
  secret: Uint8Array,
  code: string,
  at: Date,
  lastUsedStep: number | null,
): number | undefined {
  const now = totpStep(at);
  for (let step = now - WINDOW; step <= now + WINDOW; step++) {
    if (lastUsedStep !== null && step <= lastUsedStep) continue;
    if (verifyHOTP(secret, BigInt(step), TOTP_DIGITS, code)) return step;
  }
  return undefined;
}
