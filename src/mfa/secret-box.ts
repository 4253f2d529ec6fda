import type { MfaKey } from "./mfa-keys";

// TOTP secrets at rest: AES-256-GCM through WebCrypto (the same code on Node and workerd), a
// random 96-bit IV per seal, and the account id as additional data, so a ciphertext copied onto
// another account's row does not open there.

/** A secret as stored: base64url(IV || ciphertext || tag) and the id of the key that sealed it. */
export type SealedSecret = { ciphertext: string; keyId: string };

type AesKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
const imported = new WeakMap<MfaKey, Promise<AesKey>>();
const cryptoKey = (key: MfaKey) => {
  let found = imported.get(key);
  if (!found) {
    found = crypto.subtle.importKey("raw", key.bytes, "AES-GCM", false, ["encrypt", "decrypt"]);
    imported.set(key, found);
  }
  return found;
};

const additionalData = (userId: number) => new TextEncoder().encode(`mfa_factors:${userId}`);

const toBase64Url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const fromBase64Url = (text: string) =>
  Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

/** Seals `secret` for the account with the first (current) key. */
export async function sealSecret(
  keys: readonly [MfaKey, ...MfaKey[]],
  userId: number,
  secret: Uint8Array<ArrayBuffer>,
): Promise<SealedSecret> {
  const [key] = keys;
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const params = { name: "AES-GCM", iv, additionalData: additionalData(userId) };
  const sealed = new Uint8Array(await crypto.subtle.encrypt(params, await cryptoKey(key), secret));
  const joined = new Uint8Array(iv.length + sealed.length);
  joined.set(iv);
  joined.set(sealed, iv.length);
  return { ciphertext: toBase64Url(joined), keyId: key.id };
}

/** Raised when no configured key opens a stored secret (its key was removed, or it was altered). */
export class UnreadableSecret extends Error {
  override name = "UnreadableSecret";
}

/** Opens a sealed secret with the key its id names, current or old. */
export async function openSecret(
  keys: readonly MfaKey[],
  userId: number,
  sealed: SealedSecret,
): Promise<Uint8Array<ArrayBuffer>> {
  const key = keys.find((k) => k.id === sealed.keyId);
  if (!key)
    throw new UnreadableSecret(`No MFA encryption key with id ${sealed.keyId} is configured.`);
  const joined = fromBase64Url(sealed.ciphertext);
  const params = {
    name: "AES-GCM",
    iv: joined.slice(0, 12),
    additionalData: additionalData(userId),
  };
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(params, await cryptoKey(key), joined.slice(12)),
    );
  } catch {
    throw new UnreadableSecret(
      `The MFA secret of account ${userId} does not open with key ${key.id}.`,
    );
  }
}
