import { createHmac } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { eq } from "drizzle-orm";
import { expect } from "vitest";
import { mfaBackupCodes, mfaChallenges, mfaFactors, users } from "../../src/db/schema";
import { sha256Hex } from "./auth-helpers";
import type { ContractApi } from "./contract-api";
import type { TokenPair } from "./session-helpers";

// TOTP computed here by node:crypto's HMAC, independently of the library the app uses
// (@oslojs/otp), so a shared mistake cannot pass unseen.

type Api = Pick<ContractApi, "db" | "send" | "now" | "signedIn" | "createUser">;

/** RFC 4648 base32 (no padding) to bytes. */
export function base32Bytes(text: string) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of text) {
    const value = alphabet.indexOf(char);
    if (value < 0) throw new Error(`not base32: ${char}`);
    bits += value.toString(2).padStart(5, "0");
  }
  const bytes = bits.match(/.{8}/g) ?? [];
  return Buffer.from(bytes.map((b) => Number.parseInt(b, 2)));
}

/** RFC 4226 HOTP with SHA-1, as RFC 6238 computes TOTP from the step. */
export function hotp(secret: Uint8Array, counter: number, digits = 6) {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac("sha1", secret).update(message).digest();
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  const value = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(value % 10 ** digits).padStart(digits, "0");
}

export const stepOf = (at: Date) => Math.floor(at.getTime() / 30_000);

/**
 * Waits, when the server's clock is within 5 s of a step's end, for the next step: a code
 * computed now then stays in the step the server checks it in. The in-process clock stands still
 * at a step's start, so there it never waits.
 */
export async function awayFromStepEdge(api: Pick<ContractApi, "now">) {
  const into = api.now().getTime() % 30_000;
  if (into > 25_000) await sleep(30_000 - into + 100);
}

/** The code of the step `offset` steps from the server's current one. */
export const codeAt = (api: Pick<ContractApi, "now">, secret: string, offset = 0) =>
  hotp(base32Bytes(secret), stepOf(api.now()) + offset);

/** A six-digit code that no step of the window accepts. */
export function wrongCode(api: Pick<ContractApi, "now">, secret: string) {
  const window = [-1, 0, 1].map((offset) => codeAt(api, secret, offset));
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, "0");
    if (!window.includes(code)) return code;
  }
}

export const INVALID_MFA_CODE = { msg: "Invalid authentication code.", code: "INVALID_MFA_CODE" };
export const DEAD_MFA_TOKEN = { msg: "Invalid or expired MFA token.", code: "UNAUTHORIZED" };

/** Starts an enrollment; returns the answer's secret and URI. */
export async function startEnrollment(api: Api, token: string, password: string) {
  const res = await api.send("POST", "/api/me/mfa/totp", { password }, token);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { secret: string; otpauth_url: string };
}

/**
 * A signed-in account with its factor on, confirmed with the code of the previous step, so the
 * current and next steps are still unused. Returns its secret and backup codes.
 */
export async function enrolledUser(api: Api, role: "USER" | "ADMIN" = "USER") {
  const user = await api.signedIn({ role });
  await awayFromStepEdge(api);
  const { secret } = await startEnrollment(api, user.token, user.password);
  const res = await api.send(
    "POST",
    "/api/me/mfa/totp/confirm",
    { code: codeAt(api, secret, -1) },
    user.token,
  );
  expect(res.status, await res.clone().text()).toBe(200);
  const { backup_codes } = (await res.json()) as { backup_codes: string[] };
  return { ...user, secret, backupCodes: backup_codes };
}

/** The password step of a login with a factor: its mfa_token. */
export async function passwordStep(api: Api, username: string, password: string) {
  const res = await api.send("POST", "/api/user/login", { username, password });
  expect(res.status, await res.clone().text()).toBe(200);
  const body = (await res.json()) as { mfa_required: true; mfa_token: string; expires_in: number };
  expect(body).toEqual({ mfa_required: true, mfa_token: expect.any(String), expires_in: 300 });
  return body.mfa_token;
}

export const loginMfa = (api: Pick<ContractApi, "send">, body: unknown) =>
  api.send("POST", "/api/user/login/mfa", body);

/** A full login with the factor: password, then the code of the step `offset` from now. */
export async function mfaLoginPair(
  api: Api,
  user: { username: string; password: string; secret: string },
  offset = 0,
) {
  const mfa_token = await passwordStep(api, user.username, user.password);
  const res = await loginMfa(api, { mfa_token, code: codeAt(api, user.secret, offset) });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as TokenPair;
}

/** Everything stored about an account's factor, to compare before and after a refusal. */
export async function factorState(api: Pick<ContractApi, "db">, username: string) {
  const [user] = await api.db.select().from(users).where(eq(users.username, username));
  if (!user) throw new Error(`no account ${username}`);
  const [factor] = await api.db.select().from(mfaFactors).where(eq(mfaFactors.userId, user.id));
  const codes = await api.db
    .select({ hash: mfaBackupCodes.codeHash })
    .from(mfaBackupCodes)
    .where(eq(mfaBackupCodes.userId, user.id));
  const challenges = await api.db
    .select()
    .from(mfaChallenges)
    .where(eq(mfaChallenges.userId, user.id));
  return {
    user,
    factor,
    codes: codes.map((c) => c.hash).sort(),
    challenges: challenges.sort((a, b) => a.tokenHash.localeCompare(b.tokenHash)),
  };
}

/** The stored challenge of an mfa_token, found by its SHA-256. */
export async function challengeOf(api: Pick<ContractApi, "db">, mfaToken: string) {
  const [row] = await api.db
    .select()
    .from(mfaChallenges)
    .where(eq(mfaChallenges.tokenHash, await sha256Hex(mfaToken)));
  return row;
}
