import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import type { SigningJwk } from "./signing-keys";

/** JWT_SIGNING_KEYS as key objects: the first signs, each verifies the tokens naming its kid. */
export type KeyRing = {
  signer: { kid: string; key: KeyObject };
  verifiers: ReadonlyMap<string, KeyObject>;
};

// Imported once per key set (per process on Node, per isolate on Workers), never per request.
const rings = new WeakMap<readonly SigningJwk[], KeyRing>();

/**
 * The key ring of a non-empty key set, as validated by the config (src/auth/signing-keys.ts).
 * node:crypto rather than WebCrypto, as for HS256 and for the same reason (workerd has it under
 * nodejs_compat): Node runs WebCrypto's Ed25519 jobs on libuv's thread pool, where they wait
 * behind argon2 (bench/token-verify.ts measures both), while node:crypto signs and verifies on
 * the calling thread.
 */
export function keyRing(keys: readonly SigningJwk[]): KeyRing {
  let ring = rings.get(keys);
  if (!ring) {
    ring = importRing(keys);
    rings.set(keys, ring);
  }
  return ring;
}

function importRing(keys: readonly SigningJwk[]): KeyRing {
  const [first] = keys;
  if (!first) throw new Error("an empty key set has no key ring");
  const verifiers = new Map<string, KeyObject>();
  for (const { kty, crv, kid, x } of keys) {
    verifiers.set(kid, createPublicKey({ key: { kty, crv, x }, format: "jwk" }));
  }
  const { kty, crv, x, d } = first;
  const key = createPrivateKey({ key: { kty, crv, x, d }, format: "jwk" });
  return { signer: { kid: first.kid, key }, verifiers };
}

/** The Ed25519 signature of a JWT's signing input (`header.payload`). */
export const signWith = (ring: KeyRing, signingInput: string): Buffer =>
  sign(null, Buffer.from(signingInput), ring.signer.key);

/**
 * Whether `signature` is the signature of `signingInput` by the key named `kid`. The kid is only
 * ever looked up in the ring: an unknown one (or `__proto__`, or a path) finds no key.
 */
export function verifiedBy(ring: KeyRing, kid: string, signingInput: string, signature: Buffer) {
  const key = ring.verifiers.get(kid);
  return key !== undefined && verify(null, Buffer.from(signingInput), key, signature);
}
