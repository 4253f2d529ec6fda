import { eq, sql } from "drizzle-orm";
import { decode } from "hono/jwt";
import { expect } from "vitest";
import type { AccessClaims } from "../../src/auth/jwt";
import { passwordResetTokens, users } from "../../src/db/schema";
import type { ContractApi } from "./contract-api";

// Runtime-agnostic helpers for the auth contract tests: Web Crypto and the database only.

type Api = Pick<ContractApi, "db" | "send" | "userRow">;
type Account = { username: string; email: string };

/**
 * These suites are about the auth rules, not abuse resistance (which has its own tests): per-IP
 * rate limits and the reset-mail interval would otherwise cut the many requests they make short.
 */
export const RESET_SENT = { msg: "If the account exists, a password reset link has been sent." };
export const INVALID_RESET_TOKEN = {
  msg: "Invalid or expired token.",
  code: "INVALID_RESET_TOKEN",
};

/** What every verification link holds unless EMAIL_VERIFY_URL points elsewhere. */
export const VERIFY_LINK_MARK = "/verify-email?token=";

/**
 * The mails to `address` but the verification links (which registration sends to the same
 * address): the reset mails, for the tests that count them.
 */
export async function resetMailsTo(api: Pick<ContractApi, "mailsTo">, address: string) {
  return (await api.mailsTo(address)).filter((mail) => !mail.text.includes(VERIFY_LINK_MARK));
}

/** Hex SHA-256 computed independently of the code under test. */
export async function sha256Hex(value: string) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The account's row; fails the test when it does not exist. */
export async function rowOf(api: Api, username: string) {
  const row = await api.userRow(username);
  expect(row, `no row for ${username}`).toBeDefined();
  return row as NonNullable<typeof row>;
}

export const resetRowsOf = (api: Api, userId: number) =>
  api.db.select().from(passwordResetTokens).where(eq(passwordResetTokens.userId, userId));

/** Moves the account's reset tokens into the past of whatever clock the server uses. */
export const expireResetTokens = (api: Api, userId: number) =>
  api.db
    .update(passwordResetTokens)
    .set({ expiresAt: sql`${passwordResetTokens.createdAt} - interval '1 second'` })
    .where(eq(passwordResetTokens.userId, userId));

export const setActive = (api: Api, userId: number, active: boolean) =>
  api.db.update(users).set({ active }).where(eq(users.id, userId));

export const deleteUser = (api: Api, userId: number) =>
  api.db.delete(users).where(eq(users.id, userId));

/** Asks for a reset token; the API must run with EXPOSE_RESET_TOKEN=true. */
export async function requestResetToken(api: Api, user: Account) {
  const res = await api.send("POST", "/api/user/forget_password", {
    username: user.username,
    email: user.email,
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { msg: string; token?: string };
  expect(body.token, "start the API with EXPOSE_RESET_TOKEN=true").toEqual(expect.any(String));
  return body.token as string;
}

export const resetPassword = (api: Api, token: string, newPassword: string) =>
  api.send("POST", "/api/user/reset_password", { token, new_password: newPassword });

export const login = (api: Pick<ContractApi, "send">, username: string, password: string) =>
  api.send("POST", "/api/user/login", { username, password });

/** The claims of an access token, decoded without verification. */
export const claimsOf = (token: string) => decode(token).payload as unknown as AccessClaims;

/** GET of the caller's own account with a raw Authorization header (or none). */
export const getSelf = (
  api: Pick<ContractApi, "request">,
  username: string,
  authorization?: string,
) =>
  api.request(`/api/user/${username}`, {
    headers: authorization === undefined ? {} : { authorization },
  });

/** Asserts the contract's answer to a missing, invalid or revoked access token. */
export async function expectUnauthorized(res: Response) {
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toBe("Bearer");
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toEqual({ msg: expect.any(String), code: "UNAUTHORIZED" });
}
