import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";
import type { User } from "../db/schema";
import type { Clock } from "../deps";
import { type KeyRing, keyRing, signWith, verifiedBy } from "./key-ring";
import type { SigningJwk } from "./signing-keys";

export type AccessClaims = {
  sub: string;
  role: User["role"];
  ver: number;
  iat: number;
  exp: number;
  jti: string;
  /** The session (refresh-token family) the token belongs to; logging it out ends the token too. */
  sid?: string;
};

/**
 * What access tokens are signed and checked with: the Ed25519 key set (EdDSA) when it is not
 * empty, else the HS256 secret (both from the Config).
 */
export type TokenKeys = { jwtSecret: string; jwtSigningKeys: readonly SigningJwk[] };

/** Signs an access token carrying the account's current token version. */
export function issueAccessToken(
  user: Pick<User, "id" | "role" | "tokenVersion">,
  keys: TokenKeys,
  ttl: number,
  clock: Clock,
  sessionId?: string,
) {
  const iat = Math.floor(clock.now().getTime() / 1000);
  const claims: AccessClaims = {
    sub: String(user.id),
    role: user.role,
    ver: user.tokenVersion,
    iat,
    exp: iat + ttl,
    jti: crypto.randomUUID(),
    ...(sessionId ? { sid: sessionId } : {}),
  };
  return {
    access_token:
      keys.jwtSigningKeys.length > 0
        ? signEdDsa(claims, keyRing(keys.jwtSigningKeys))
        : signHs256(claims, keys.jwtSecret),
    token_type: "Bearer" as const,
    expires_in: ttl,
  };
}

/** An EdDSA JWT whose header names the signing key, so verifiers pick it from the JWKS. */
const signEdDsa = (claims: AccessClaims, ring: KeyRing) =>
  compactJwt(encodePart({ alg: "EdDSA", typ: "JWT", kid: ring.signer.kid }), claims, (input) =>
    signWith(ring, input).toString("base64url"),
  );

const encodePart = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

const HS256_HEADER = encodePart({ alg: "HS256", typ: "JWT" });

/**
 * An HS256 JWT, signed on the calling thread with node:crypto, as checkToken verifies it: a
 * WebCrypto signature is a job on libuv's thread pool, where it waits behind the argon2 work of
 * concurrent logins, and costs the event loop more than the HMAC itself.
 */
const signHs256 = (claims: AccessClaims, secret: string) =>
  compactJwt(HS256_HEADER, claims, (input) =>
    createHmac("sha256", secret).update(input).digest("base64url"),
  );

/** `header.claims.signature` (RFC 7515's compact form), `signature` given the signing input. */
function compactJwt(header: string, claims: AccessClaims, signature: (input: string) => string) {
  const input = `${header}.${encodePart(claims)}`;
  return `${input}.${signature(input)}`;
}

/** What an access token asserts, once its signature and claims have been checked. */
export type VerifiedClaims = { userId: number; ver: number; sid?: string };

type KeySet = string | TokenKeys["jwtSigningKeys"];
type Checked = VerifiedClaims & { keySet: KeySet; exp: number; nbf?: number };

// Tokens that verified lately, so a client's next requests with the same token skip the signature
// and the JSON parsing; only the time checks run again. Keyed by the whole token, signature
// included, and valid only for the key set that verified it. Bounded: the oldest entry goes first.
const verified = new Map<string, Checked>();
const VERIFIED_MAX = 4096;

/**
 * Verifies signature and algorithm, then time against the injected clock. The algorithm is fixed
 * by the configuration: with a key set, EdDSA under the key the header's kid names and nothing
 * else, HS256 included (docs/api.md, "Signing keys and the JWKS"); without one, HS256 under the secret. `none` never
 * passes. Returns undefined for any token that must be refused. Signatures are checked
 * synchronously with node:crypto (workerd has it under nodejs_compat): WebCrypto's key import
 * and job scheduling cost more than the HMAC itself, and its Ed25519 jobs wait behind argon2.
 */
export function verifyAccessToken(
  token: string,
  keys: TokenKeys,
  clock: Clock,
): VerifiedClaims | undefined {
  const keySet: KeySet = keys.jwtSigningKeys.length > 0 ? keys.jwtSigningKeys : keys.jwtSecret;
  let checked = verified.get(token);
  if (checked?.keySet !== keySet) {
    checked =
      typeof keySet === "string" ? checkToken(token, keySet) : checkEdDsaToken(token, keySet);
    if (!checked) return undefined;
    if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value as string);
    verified.set(token, checked);
  }
  const now = clock.now().getTime() / 1000;
  if (checked.exp <= now || (checked.nbf !== undefined && checked.nbf > now)) return undefined;
  return { userId: checked.userId, ver: checked.ver, sid: checked.sid };
}

/** Signature, algorithm and the shape of the claims; time is checked by the caller. */
function checkToken(token: string, secret: string): Checked | undefined {
  const [header, body, signature, extra] = token.split(".");
  if (header === undefined || body === undefined || signature === undefined) return undefined;
  if (extra !== undefined || !isHs256Header(header)) return undefined;
  // Compared as canonical base64url, so no other spelling of the same bytes passes.
  const expected = createHmac("sha256", secret).update(`${header}.${body}`).digest("base64url");
  if (!constantTimeEqual(expected, signature)) return undefined;
  return claimsOf(body, secret);
}

/** The EdDSA counterpart of checkToken: the key is the one the header's kid names in the set. */
function checkEdDsaToken(token: string, keys: readonly SigningJwk[]) {
  const [header, body, signature, extra] = token.split(".");
  if (header === undefined || body === undefined || signature === undefined) return undefined;
  const kid = extra === undefined ? eddsaKid(header) : undefined;
  if (kid === undefined) return undefined;
  const bytes = Buffer.from(signature, "base64url");
  // Canonical base64url only, as for HS256: no other spelling of the same signature passes.
  if (bytes.length !== 64 || bytes.toString("base64url") !== signature) return undefined;
  if (!verifiedBy(keyRing(keys), kid, `${header}.${body}`, bytes)) return undefined;
  return claimsOf(body, keys);
}

/** The claims this API relies on, checked for shape; undefined when any is missing or wrong. */
function claimsOf(body: string, keySet: KeySet): Checked | undefined {
  const payload = decodePart(body);
  if (!payload) return undefined;
  const { sub, ver, exp, nbf, sid } = payload;
  if (typeof exp !== "number") return undefined;
  if (typeof sub !== "string" || !/^[1-9]\d{0,9}$/.test(sub)) return undefined;
  if (typeof ver !== "number" || !Number.isInteger(ver)) return undefined;
  if (sid !== undefined && typeof sid !== "string") return undefined;
  return {
    keySet,
    userId: Number(sub),
    ver,
    sid,
    exp,
    nbf: typeof nbf === "number" ? nbf : undefined,
  };
}

/** A JWT part as an object, or undefined when it is not base64url JSON of an object. */
function decodePart(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The algorithm is pinned: a header naming any other (or `none`) is refused before any check. */
function isHs256Header(part: string) {
  const header = decodePart(part);
  return header?.alg === "HS256" && (header.typ === undefined || header.typ === "JWT");
}

/**
 * The kid of an EdDSA header, or undefined: for any other algorithm (HS256 too: the algorithm is
 * fixed by the key set, so a public key can never serve as an HMAC secret), a header without a
 * kid, or one asking for extensions this verifier does not know (`crit`, RFC 7515 §4.1.11).
 */
function eddsaKid(part: string) {
  const header = decodePart(part);
  if (header?.alg !== "EdDSA" || "crit" in header) return undefined;
  if (header.typ !== undefined && header.typ !== "JWT") return undefined;
  return typeof header.kid === "string" ? header.kid : undefined;
}

function constantTimeEqual(a: string, b: string) {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
