import type { webcrypto } from "node:crypto";
import type { SigningJwk } from "./signing-keys";

type Key = webcrypto.CryptoKey;

/** JWT_SIGNING_KEYS as WebCrypto keys: the first signs, each verifies the tokens naming its kid. */
export type KeyRing = {
  signer: { kid: string; key: Key };
  verifiers: ReadonlyMap<string, Key>;
};

const ED25519 = { name: "Ed25519" };

// Imported once per key set (per process on Node, per isolate on Workers), never per request.
const rings = new WeakMap<readonly SigningJwk[], Promise<KeyRing>>();

/** The key ring of a non-empty key set, as validated by the config (src/auth/signing-keys.ts). */
export function keyRing(keys: readonly SigningJwk[]): Promise<KeyRing> {
  let ring = rings.get(keys);
  if (!ring) {
    ring = importRing(keys);
    rings.set(keys, ring);
  }
  return ring;
}

async function importRing(keys: readonly SigningJwk[]): Promise<KeyRing> {
  const [first] = keys;
  if (!first) throw new Error("an empty key set has no key ring");
  const verifiers = new Map<string, Key>();
  for (const { kty, crv, kid, x } of keys) {
    const key = await crypto.subtle.importKey("jwk", { kty, crv, x }, ED25519, false, ["verify"]);
    verifiers.set(kid, key);
  }
  const { kty, crv, x, d } = first;
  const key = await crypto.subtle.importKey("jwk", { kty, crv, x, d }, ED25519, false, ["sign"]);
  return { signer: { kid: first.kid, key }, verifiers };
}

/** The Ed25519 signature of a JWT's signing input (`header.payload`). */
export async function signWith(ring: KeyRing, signingInput: string): Promise<Uint8Array> {
  const data = new TextEncoder().encode(signingInput);
  return new Uint8Array(await crypto.subtle.sign(ED25519, ring.signer.key, data));
}

/**
 * Whether `signature` is the signature of `signingInput` by the key named `kid`. The kid is only
 * ever looked up in the ring: an unknown one (or `__proto__`, or a path) finds no key.
 */
export async function verifiedBy(
  ring: KeyRing,
  kid: string,
  signingInput: string,
  signature: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  const key = ring.verifiers.get(kid);
  if (!key) return false;
  const data = new TextEncoder().encode(signingInput);
  return crypto.subtle.verify(ED25519, key, signature, data);
}
