import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectRows } from "../../src/db/database";
import { sessions } from "../../src/db/schema";
import { expectUnauthorized, requestResetToken, resetPassword } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";
import {
  awayFromStepEdge,
  codeAt,
  enrolledUser,
  factorState,
  INVALID_MFA_CODE,
  loginMfa,
  mfaLoginPair,
  passwordStep,
  wrongCode,
} from "../support/mfa-helpers";
import { expectRefreshRefused, loginPair, refresh } from "../support/session-helpers";

// Turning the factor off, replacing its backup codes, an ADMIN clearing it, and what password
// reset and change leave of it.

let api: ContractApi;
beforeAll(async () => {
  api = await startApi({ env: { EXPOSE_RESET_TOKEN: "true" } });
});
afterAll(() => api.close());

const disable = (body: unknown, token: string) =>
  api.send("DELETE", "/api/me/mfa/totp", body, token);
const regenerate = (body: unknown, token: string) =>
  api.send("POST", "/api/me/mfa/backup_codes", body, token);
const clear = (username: string, token: string) =>
  api.send("DELETE", `/api/user/${username}/mfa`, undefined, token);
const INVALID_PASSWORD = { msg: "Invalid password.", code: "UNAUTHORIZED" };

async function auditActions(username: string) {
  const rows = await selectRows<{ action: string; detail: string | null }>(
    api.db,
    sql`select action::text, detail from audit_log where target_username = ${username} order by id`,
  );
  return rows;
}

async function expectRefused(res: Response, status: number, body: object) {
  expect(res.status, await res.clone().text()).toBe(status);
  expect(await res.json()).toEqual(body);
}

describe("DELETE /api/me/mfa/totp", () => {
  it("with the password and a current code: the factor and its backup codes are gone", async () => {
    const user = await enrolledUser(api);
    await awayFromStepEdge(api);
    const res = await disable(
      { password: user.password, code: codeAt(api, user.secret) },
      user.token,
    );
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual({ msg: "Second factor turned off." });
    const state = await factorState(api, user.username);
    expect(state.user.mfaEnabled).toBe(false);
    expect(state.factor).toBeUndefined();
    expect(state.codes).toEqual([]);
    expect((await auditActions(user.username)).at(-1)).toEqual({
      action: "mfa.disabled",
      detail: "self",
    });
    // A password login gives tokens again.
    await loginPair(api, user.username, user.password);
  });

  it("with a backup code instead", async () => {
    const user = await enrolledUser(api);
    const res = await disable({ password: user.password, code: user.backupCodes[3] }, user.token);
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await factorState(api, user.username)).codes).toEqual([]);
  });

  it("a wrong password is 401 and a wrong code 400; the factor stays", async () => {
    const user = await enrolledUser(api);
    await awayFromStepEdge(api);
    const before = await factorState(api, user.username);
    await expectRefused(
      await disable({ password: "not the password", code: codeAt(api, user.secret) }, user.token),
      401,
      INVALID_PASSWORD,
    );
    for (const code of [wrongCode(api, user.secret), "zzzz-zzzz-zzzz-zzzz"]) {
      await expectRefused(
        await disable({ password: user.password, code }, user.token),
        400,
        INVALID_MFA_CODE,
      );
    }
    expect(await factorState(api, user.username)).toEqual(before);
  });

  it("without a factor is 409", async () => {
    const user = await api.signedIn();
    await expectRefused(
      await disable({ password: user.password, code: "123456" }, user.token),
      409,
      { msg: "No second factor is on.", code: "CONFLICT" },
    );
  });
});

describe("POST /api/me/mfa/backup_codes", () => {
  it("answers 10 new codes; the old ones stop working, the new ones work", async () => {
    const user = await enrolledUser(api);
    await awayFromStepEdge(api);
    const res = await regenerate(
      { password: user.password, code: codeAt(api, user.secret) },
      user.token,
    );
    expect(res.status, await res.clone().text()).toBe(200);
    const { backup_codes } = (await res.json()) as { backup_codes: string[] };
    expect(backup_codes).toHaveLength(10);
    for (const code of backup_codes) expect(user.backupCodes).not.toContain(code);
    expect((await factorState(api, user.username)).codes).toHaveLength(10);
    expect((await auditActions(user.username)).at(-1)?.action).toBe("mfa.backup_codes_regenerated");

    const old = await passwordStep(api, user.username, user.password);
    const refused = await loginMfa(api, { mfa_token: old, backup_code: user.backupCodes[0] });
    expect(refused.status).toBe(401);
    const fresh = await passwordStep(api, user.username, user.password);
    expect((await loginMfa(api, { mfa_token: fresh, backup_code: backup_codes[0] })).status).toBe(
      200,
    );
  });

  it("a backup code proves it too, and is spent", async () => {
    const user = await enrolledUser(api);
    const [code] = user.backupCodes as [string];
    const res = await regenerate({ password: user.password, code }, user.token);
    expect(res.status).toBe(200);
    const again = await regenerate({ password: user.password, code }, user.token);
    await expectRefused(again, 400, INVALID_MFA_CODE);
  });

  it("a wrong code is 400 and the codes stay", async () => {
    const user = await enrolledUser(api);
    const before = await factorState(api, user.username);
    await expectRefused(
      await regenerate({ password: user.password, code: wrongCode(api, user.secret) }, user.token),
      400,
      INVALID_MFA_CODE,
    );
    expect(await factorState(api, user.username)).toEqual(before);
  });
});

describe("DELETE /api/user/{username}/mfa", () => {
  it("an ADMIN clears a USER's factor and ends its sessions", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await enrolledUser(api);
    await awayFromStepEdge(api);
    const pair = await mfaLoginPair(api, user);
    const res = await clear(user.username.toUpperCase(), admin.token);
    expect(res.status, await res.clone().text()).toBe(200);
    const state = await factorState(api, user.username);
    expect(state.user.mfaEnabled).toBe(false);
    expect(state.factor).toBeUndefined();
    expect(state.codes).toEqual([]);
    await expectUnauthorized(await api.send("GET", "/api/me", undefined, pair.access_token));
    await expectRefreshRefused(await refresh(api, pair.refresh_token));
    const live = await api.db.select().from(sessions).where(eq(sessions.userId, state.user.id));
    expect(
      live.every((s) => s.revokedAt !== null || s.tokenVersion !== state.user.tokenVersion),
    ).toBe(true);
    expect((await auditActions(user.username)).at(-1)).toEqual({
      action: "mfa.disabled",
      detail: "admin",
    });
    await loginPair(api, user.username, user.password);
  });

  it("an ADMIN may clear its own", async () => {
    const admin = await enrolledUser(api, "ADMIN");
    expect((await clear(admin.username, admin.token)).status).toBe(200);
    expect((await factorState(api, admin.username)).user.mfaEnabled).toBe(false);
  });

  it("never another ADMIN's: 403, nothing changed", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const other = await enrolledUser(api, "ADMIN");
    const before = await factorState(api, other.username);
    await expectRefused(await clear(other.username, admin.token), 403, {
      msg: "Another ADMIN's second factor cannot be cleared.",
      code: "FORBIDDEN",
    });
    expect(await factorState(api, other.username)).toEqual(before);
  });

  it("a USER gets 403, even for itself; a missing account is 404", async () => {
    const user = await enrolledUser(api);
    const before = await factorState(api, user.username);
    await expectRefused(await clear(user.username, user.token), 403, {
      msg: "Only an ADMIN can do this.",
      code: "FORBIDDEN",
    });
    expect(await factorState(api, user.username)).toEqual(before);
    const admin = await api.signedIn({ role: "ADMIN" });
    await expectRefused(await clear("nobody_here", admin.token), 404, {
      msg: "User not found.",
      code: "NOT_FOUND",
    });
  });
});

describe("password reset and change leave the factor on", () => {
  it("after a reset the next login still asks for the code", async () => {
    const user = await enrolledUser(api);
    const token = await requestResetToken(api, user);
    expect((await resetPassword(api, token, "a brand new passphrase")).status).toBe(200);
    const state = await factorState(api, user.username);
    expect(state.user.mfaEnabled).toBe(true);
    expect(state.codes).toHaveLength(10);
    await awayFromStepEdge(api);
    await mfaLoginPair(api, { ...user, password: "a brand new passphrase" });
  });

  it("after a change the next login still asks for the code", async () => {
    const user = await enrolledUser(api);
    const res = await api.send(
      "POST",
      "/api/me/password",
      { current_password: user.password, new_password: "another long passphrase" },
      user.token,
    );
    expect(res.status).toBe(200);
    expect((await factorState(api, user.username)).user.mfaEnabled).toBe(true);
    await awayFromStepEdge(api);
    await mfaLoginPair(api, { ...user, password: "another long passphrase" });
  });
});
