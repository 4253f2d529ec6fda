import { eq, sql } from "drizzle-orm";
import { expect } from "vitest";
import { loginThrottles, refreshTokens, sessions } from "../../src/db/schema";
import { login, sha256Hex } from "./auth-helpers";
import type { ContractApi } from "./contract-api";

// Runtime-agnostic helpers for the session and abuse-resistance contract tests. Time travel edits
// timestamps relative to the rows themselves, never to the database's now(): the Node target runs
// on a hand-moved clock far from the database's, the Worker on the system clock.

type Api = Pick<ContractApi, "db" | "send">;

export type TokenPair = {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  refresh_token: string;
  refresh_expires_in: number;
};

export const INVALID_REFRESH = { msg: "Invalid or expired refresh token.", code: "UNAUTHORIZED" };
export const TOO_MANY_REQUESTS = { msg: "Too many requests, slow down.", code: "RATE_LIMITED" };
export const LOCKED_OUT = { msg: "Too many failed logins, try again later.", code: "RATE_LIMITED" };
export const LOGGED_OUT = { msg: "Logged out." };

/** 32 bytes in unpadded base64url. */
export const REFRESH_TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export const refresh = (api: Api, refreshToken: string) =>
  api.send("POST", "/api/user/refresh", { refresh_token: refreshToken });

export const logout = (api: Api, body: unknown, accessToken?: string) =>
  api.send("POST", "/api/user/logout", body, accessToken);

async function expectPair(res: Response): Promise<TokenPair> {
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as TokenPair;
}

/** Logs in (a new session) and returns the token pair. */
export const loginPair = async (api: Api, username: string, password: string) =>
  expectPair(await login(api, username, password));

/** Rotates a refresh token and returns the new pair. */
export const refreshPair = async (api: Api, refreshToken: string) =>
  expectPair(await refresh(api, refreshToken));

/** Asserts the answer to a refresh token that must not work. */
export async function expectRefreshRefused(res: Response) {
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toBe("Bearer");
  expect(await res.json()).toEqual(INVALID_REFRESH);
}

/** Asserts a 429 with the given body and returns its Retry-After in seconds. */
export async function expectRateLimited(res: Response, body: object = TOO_MANY_REQUESTS) {
  expect(res.status, await res.clone().text()).toBe(429);
  expect(await res.json()).toEqual(body);
  const header = res.headers.get("retry-after");
  expect(header).toMatch(/^[1-9]\d*$/);
  return Number(header);
}

/** The stored row of a refresh token, found by its SHA-256 as the contract says it is stored. */
export async function refreshRowOf(api: Api, refreshToken: string) {
  const [row] = await api.db
    .select()
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, await sha256Hex(refreshToken)));
  return row;
}

export async function sessionRowOf(api: Api, sessionId: string) {
  const [row] = await api.db.select().from(sessions).where(eq(sessions.id, sessionId));
  return row;
}

export const sessionsOfUser = (api: Api, userId: number) =>
  api.db.select().from(sessions).where(eq(sessions.userId, userId));

/** Makes a consumed refresh token look consumed `seconds` earlier than it was. */
export async function ageConsumption(api: Api, refreshToken: string, seconds: number) {
  await api.db
    .update(refreshTokens)
    .set({ consumedAt: sql`${refreshTokens.consumedAt} - ${seconds}::int * interval '1 second'` })
    .where(eq(refreshTokens.tokenHash, await sha256Hex(refreshToken)));
}

/** Moves a refresh token's expiry before its creation. */
export async function expireRefreshToken(api: Api, refreshToken: string) {
  await api.db
    .update(refreshTokens)
    .set({ expiresAt: sql`${refreshTokens.createdAt} - interval '1 second'` })
    .where(eq(refreshTokens.tokenHash, await sha256Hex(refreshToken)));
}

/** Ends every lockout at once: a lock then lasts until the failure that earned it. */
export const expireLockouts = (api: Api) =>
  api.db.update(loginThrottles).set({ lockedUntil: sql`${loginThrottles.updatedAt}` });
