import { createPrivateKey, createPublicKey } from "node:crypto";
import { z } from "zod";

/** An Ed25519 private key of JWT_SIGNING_KEYS, as a JWK (RFC 8037) with the id tokens name it by. */
export type SigningJwk = { kty: "OKP"; crv: "Ed25519"; kid: string; x: string; d: string };

/** The public half of a signing key, as GET /.well-known/jwks.json lists it. */
export type PublicJwk = Omit<SigningJwk, "d"> & { alg: "EdDSA"; use: "sig" };

/** 32 bytes in unpadded base64url: an Ed25519 private key (d) or public key (x). */
const key32 = (what: string) => {
  const message = `must be the ${what} key, 32 bytes in unpadded base64url`;
  return z.string(message).regex(/^[A-Za-z0-9_-]{43}$/, message);
};
const KID = "must be 1-64 of [A-Za-z0-9._-]";

// Other members a JWK may carry (`ext`, `key_ops` from WebCrypto's export) are dropped; `alg` and
// `use`, when present, must say what the key is used for.
const signingJwk = z.object({
  kty: z.literal("OKP", 'must be "OKP"'),
  crv: z.literal("Ed25519", 'must be "Ed25519"'),
  kid: z.string(KID).regex(/^[A-Za-z0-9._-]{1,64}$/, KID),
  x: key32("public"),
  d: key32("private"),
  alg: z.enum(["EdDSA", "Ed25519"], 'must be "EdDSA" or "Ed25519"').optional(),
  use: z.literal("sig", 'must be "sig"').optional(),
});

const SHAPE = "must be a JSON array of Ed25519 private JWKs; `npm run keys:new` prints one";

/**
 * JWT_SIGNING_KEYS: a JSON array of Ed25519 private JWKs, the first one signing. Checked whole at
 * start-up, so a mistake is a configuration error naming the variable and never a token that no
 * one can verify. Messages never quote the value: it holds private keys.
 */
export const signingKeySet = z
  .string()
  .transform((text, ctx): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      // Not JSON.parse's message: it quotes the text.
      ctx.addIssue({ code: "custom", message: SHAPE });
      return z.NEVER;
    }
  })
  .pipe(z.array(signingJwk, SHAPE).min(1, SHAPE))
  .superRefine((keys, ctx) => {
    const seen = new Set<string>();
    for (const [index, key] of keys.entries()) {
      if (seen.has(key.kid)) {
        ctx.addIssue({ code: "custom", path: [index, "kid"], message: "appears twice" });
      }
      seen.add(key.kid);
      if (!isKeyPair(key)) {
        ctx.addIssue({
          code: "custom",
          path: [index, "x"],
          message: "is not the public key of d (a key pair must be kept whole)",
        });
      }
    }
  })
  .transform((keys): readonly SigningJwk[] =>
    Object.freeze(keys.map(({ kty, crv, kid, x, d }) => ({ kty, crv, kid, x, d }))),
  );

/**
 * Whether x is the public key of d. A private key is made from d alone (node:crypto on both
 * runtimes, and workerd's WebCrypto, ignore x), so a pair put together wrong would sign tokens
 * with a key the JWKS does not publish.
 */
function isKeyPair(key: { kid: string; x: string; d: string }) {
  try {
    const jwk = { kty: "OKP", crv: "Ed25519", x: key.x, d: key.d };
    const derived = createPublicKey(createPrivateKey({ key: jwk, format: "jwk" }));
    return derived.export({ format: "jwk" }).x === key.x;
  } catch {
    return false;
  }
}

/** The public halves, built member by member so that `d` cannot slip through. */
export const publicJwks = (keys: readonly SigningJwk[]): PublicJwk[] =>
  keys.map(({ kty, crv, kid, x }) => ({ kty, crv, kid, x, alg: "EdDSA", use: "sig" }));
