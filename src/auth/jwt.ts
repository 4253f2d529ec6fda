import { sign, verify } from "hono/jwt";
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
    access_token: await sign(claims, secret, "HS256"),
    token_type: "Bearer" as const,
    expires_in: ttl,
  };
}

/**
 * Verifies signature and algorithm (HS256 only: `none` and other algorithms are refused by
 * hono/jwt when the algorithm is pinned) and then time against the injected clock.
 * Returns undefined for any token that must be refused.
 */
export async function verifyAccessToken(
  token: string,
  secret: string,
  clock: Clock,
): Promise<{ userId: number; ver: number; sid?: string } | undefined> {
  let payload: Record<string, unknown>;
  try {
    payload = await verify(token, secret, { alg: "HS256", exp: false, nbf: false, iat: false });
  } catch {
    return undefined;
  }
  const now = clock.now().getTime() / 1000;
  const { sub, ver, exp, nbf, sid } = payload;
  if (typeof exp !== "number" || exp <= now) return undefined;
  if (typeof nbf === "number" && nbf > now) return undefined;
  if (typeof sub !== "string" || !/^[1-9]\d{0,9}$/.test(sub)) return undefined;
  if (typeof ver !== "number" || !Number.isInteger(ver)) return undefined;
  if (sid !== undefined && typeof sid !== "string") return undefined;
  return { userId: Number(sub), ver, sid };
}
