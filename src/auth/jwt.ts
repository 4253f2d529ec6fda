import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual, type webcrypto } from "node:crypto";
import { sign } from "hono/jwt";
import type { User } from "../db/schema";
import type { Clock } from "../deps";

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

// hono/jwt imports a string secret as a WebCrypto key on every call; the key is imported once.
const signingKeys = new Map<string, Promise<webcrypto.CryptoKey>>();
const signingKey = (secret: string) => {
  let key = signingKeys.get(secret);
  if (!key) {
    const raw = new TextEncoder().encode(secret);
    key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    signingKeys.set(secret, key);
  }
  return key;
};

/** Signs an HS256 access token carrying the account's current token version. */
export async function issueAccessToken(
  user: Pick<User, "id" | "role" | "tokenVersion">,
  secret: string,
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
    access_token: await sign(claims, await signingKey(secret), "HS256"),
    token_type: "Bearer" as const,
    expires_in: ttl,
  };
}

/** What an access token asserts, once its signature and claims have been checked. */
export type VerifiedClaims = { userId: number; ver: number; sid?: string };

type Checked = VerifiedClaims & { secret: string; exp: number; nbf?: number };

// Tokens that verified lately, so a client's next requests with the same token skip the HMAC and
// the JSON parsing; only the time checks run again. Bounded: the oldest entry goes first.
const verified = new Map<string, Checked>();
const VERIFIED_MAX = 4096;

/**
 * Verifies signature and algorithm (HS256 only: `none`, other algorithms and other keys are
 * refused) and then time against the injected clock. Returns undefined for any token that must
 * be refused. The HMAC is checked synchronously with node:crypto (workerd has it under
 * nodejs_compat): WebCrypto's key import and job scheduling cost more than the HMAC itself.
 */
export function verifyAccessToken(
  token: string,
  secret: string,
  clock: Clock,
): VerifiedClaims | undefined {
  let checked = verified.get(token);
  if (checked?.secret !== secret) {
    checked = checkToken(token, secret);
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

  const payload = decodePart(body);
  if (!payload) return undefined;
  const { sub, ver, exp, nbf, sid } = payload;
  if (typeof exp !== "number") return undefined;
  if (typeof sub !== "string" || !/^[1-9]\d{0,9}$/.test(sub)) return undefined;
  if (typeof ver !== "number" || !Number.isInteger(ver)) return undefined;
  if (sid !== undefined && typeof sid !== "string") return undefined;
  return {
    secret,
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

function constantTimeEqual(a: string, b: string) {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
