import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectRows } from "../../src/db/database";
import { loginThrottles, mfaChallenges, mfaFactors, sessions } from "../../src/db/schema";
import { expectUnauthorized } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";
import {
  awayFromStepEdge,
  challengeOf,
  codeAt,
  DEAD_MFA_TOKEN,
  enrolledUser,
  factorState,
  INVALID_MFA_CODE,
  loginMfa,
  mfaLoginPair,
  passwordStep,
  wrongCode,
} from "../support/mfa-helpers";
import { expectRateLimited, LOCKED_OUT, type TokenPair } from "../support/session-helpers";

// A login in two steps when the factor is on: POST /api/user/login answers an mfa_token, and
// POST /api/user/login/mfa trades it and a code for the session. A lockout threshold of 7 keeps
// an mfa_token's own limit (5 wrong codes) apart from the login name's.

let api: ContractApi;
beforeAll(async () => {
  api = await startApi({ needsServer: true, env: { LOGIN_LOCKOUT_THRESHOLD: "7" } });
});
afterAll(() => api.close());

async function userId(username: string) {
  return (await factorState(api, username)).user.id;
}
const sessionsOf = async (username: string) =>
  api.db
    .select()
    .from(sessions)
    .where(eq(sessions.userId, await userId(username)));
const failuresOf = async (username: string) => {
  const [row] = await api.db
    .select()
    .from(loginThrottles)
    .where(eq(loginThrottles.key, `login:${username.toLowerCase()}`));
  return row?.failures ?? 0;
};
async function auditOf(username: string, action: string) {
  return selectRows<{ detail: string | null; actor_username: string | null }>(
    api.db,
    sql`select detail, actor_username from audit_log
      where target_username = ${username} and action = ${action}::audit_action order by id`,
  );
}

/** What a refused second step must leave as it was: the factor, codes, sessions. */
async function stateOf(username: string) {
  const { factor, codes, user } = await factorState(api, username);
  return { factor, codes, user, sessions: await sessionsOf(username) };
}

async function expectInvalidCode(res: Response) {
  expect(res.status, await res.clone().text()).toBe(401);
  expect(res.headers.get("www-authenticate")).toBe("Bearer");
  expect(await res.json()).toEqual(INVALID_MFA_CODE);
}
async function expectDeadToken(res: Response) {
  expect(res.status, await res.clone().text()).toBe(401);
  expect(await res.json()).toEqual(DEAD_MFA_TOKEN);
}

describe("POST /api/user/login with the factor on", () => {
  it("the right password answers mfa_required and an mfa_token, no tokens and no session", async () => {
    const user = await enrolledUser(api);
    const before = await sessionsOf(user.username);
    const token = await passwordStep(api, user.username, user.password);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await sessionsOf(user.username)).toEqual(before);
    // Stored as a hash only.
    const stored = await challengeOf(api, token);
    expect(stored?.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(token);
  });

  it("resets no failure count: the password alone is not a successful login", async () => {
    const user = await enrolledUser(api);
    for (let i = 0; i < 2; i++) {
      const res = await api.send("POST", "/api/user/login", {
        username: user.username,
        password: "wrong password",
      });
      expect(res.status).toBe(401);
    }
    await passwordStep(api, user.username, user.password);
    expect(await failuresOf(user.username)).toBe(2);
    await mfaLoginPair(api, user);
    expect(await failuresOf(user.username)).toBe(0);
  });

  it("an mfa_token is no bearer credential", async () => {
    const user = await enrolledUser(api);
    const token = await passwordStep(api, user.username, user.password);
    await expectUnauthorized(await api.send("GET", "/api/me", undefined, token));
  });
});

describe("POST /api/user/login/mfa", () => {
  it("a right code answers the token pair of a new session, recorded as a login with totp", async () => {
    const user = await enrolledUser(api);
    const before = (await sessionsOf(user.username)).length;
    await awayFromStepEdge(api);
    const pair = await mfaLoginPair(api, user);
    expect(pair).toEqual({
      access_token: expect.any(String),
      token_type: "Bearer",
      expires_in: 900,
      refresh_token: expect.any(String),
      refresh_expires_in: 2_592_000,
    });
    expect(await sessionsOf(user.username)).toHaveLength(before + 1);
    expect((await api.send("GET", "/api/me", undefined, pair.access_token)).status).toBe(200);
    const logins = await auditOf(user.username, "login.succeeded");
    expect(logins.at(-1)).toEqual({ detail: "totp", actor_username: user.username });
  });

  it.each([-1, 0, 1])("accepts the code of the step %i from now", async (offset) => {
    const user = await enrolledUser(api);
    // enrolledUser spent the previous step: this account has used none yet.
    await api.db
      .update(mfaFactors)
      .set({ lastUsedStep: null })
      .where(eq(mfaFactors.userId, await userId(user.username)));
    await awayFromStepEdge(api);
    await mfaLoginPair(api, user, offset);
  });

  it.each([-2, 2])("refuses the code of the step %i from now, changing nothing", async (offset) => {
    const user = await enrolledUser(api);
    await awayFromStepEdge(api);
    const mfa_token = await passwordStep(api, user.username, user.password);
    const before = await stateOf(user.username);
    await expectInvalidCode(
      await loginMfa(api, { mfa_token, code: codeAt(api, user.secret, offset) }),
    );
    expect(await stateOf(user.username)).toEqual(before);
  });

  it("the mfa_token dies at its first success", async () => {
    const user = await enrolledUser(api);
    await awayFromStepEdge(api);
    const mfa_token = await passwordStep(api, user.username, user.password);
    expect((await loginMfa(api, { mfa_token, code: codeAt(api, user.secret) })).status).toBe(200);
    const before = await stateOf(user.username);
    await expectDeadToken(await loginMfa(api, { mfa_token, code: codeAt(api, user.secret, 1) }));
    expect(await stateOf(user.username)).toEqual(before);
    expect(await challengeOf(api, mfa_token)).toBeUndefined();
  });

  it("a code accepted once is refused again, and so is an older step's", async () => {
    const user = await enrolledUser(api);
    await awayFromStepEdge(api);
    await mfaLoginPair(api, user, 0);
    const before = await stateOf(user.username);
    for (const offset of [0, -1]) {
      const mfa_token = await passwordStep(api, user.username, user.password);
      await expectInvalidCode(
        await loginMfa(api, { mfa_token, code: codeAt(api, user.secret, offset) }),
      );
    }
    expect(await stateOf(user.username)).toEqual(before);
    // The next step still works.
    await mfaLoginPair(api, user, 1);
  });

  it("a wrong code is 401 INVALID_MFA_CODE, a failed login of the name (login.mfa_failed), no session", async () => {
    const user = await enrolledUser(api);
    const mfa_token = await passwordStep(api, user.username, user.password);
    const before = await stateOf(user.username);
    await expectInvalidCode(await loginMfa(api, { mfa_token, code: wrongCode(api, user.secret) }));
    expect(await stateOf(user.username)).toEqual(before);
    expect(await failuresOf(user.username)).toBe(1);
    expect((await challengeOf(api, mfa_token))?.failures).toBe(1);
    expect(await auditOf(user.username, "login.mfa_failed")).toEqual([
      { detail: "totp", actor_username: null },
    ]);
  });

  it("the mfa_token dies after 5 wrong codes: a right one is then refused", async () => {
    const user = await enrolledUser(api);
    await awayFromStepEdge(api);
    const mfa_token = await passwordStep(api, user.username, user.password);
    for (let i = 0; i < 5; i++) {
      await expectInvalidCode(
        await loginMfa(api, { mfa_token, code: wrongCode(api, user.secret) }),
      );
    }
    const before = await stateOf(user.username);
    await expectDeadToken(await loginMfa(api, { mfa_token, code: codeAt(api, user.secret) }));
    expect(await stateOf(user.username)).toEqual(before);
    // The name is not locked yet (threshold 7): a new password step and a right code log in.
    await mfaLoginPair(api, user);
  });

  it("the mfa_token dies at expiry", async () => {
    const user = await enrolledUser(api);
    await awayFromStepEdge(api);
    const mfa_token = await passwordStep(api, user.username, user.password);
    const stored = await challengeOf(api, mfa_token);
    expect((stored?.expiresAt.getTime() ?? 0) - (stored?.createdAt.getTime() ?? 0)).toBe(300_000);
    await api.db
      .update(mfaChallenges)
      .set({ expiresAt: sql`${mfaChallenges.createdAt} - interval '1 second'` })
      .where(eq(mfaChallenges.tokenHash, stored?.tokenHash ?? ""));
    const before = await stateOf(user.username);
    await expectDeadToken(await loginMfa(api, { mfa_token, code: codeAt(api, user.secret) }));
    expect(await stateOf(user.username)).toEqual(before);
  });

  it("the mfa_token dies when the password changes after the password step", async () => {
    const user = await enrolledUser(api);
    await awayFromStepEdge(api);
    const mfa_token = await passwordStep(api, user.username, user.password);
    const changed = await api.send(
      "POST",
      "/api/me/password",
      { current_password: user.password, new_password: "a new and long passphrase" },
      user.token,
    );
    expect(changed.status).toBe(200);
    await expectDeadToken(await loginMfa(api, { mfa_token, code: codeAt(api, user.secret, 1) }));
  });

  it("wrong codes lock the login name: then even the password step is 429", async () => {
    const user = await enrolledUser(api);
    for (let round = 0; round < 2; round++) {
      const mfa_token = await passwordStep(api, user.username, user.password);
      for (let i = 0; i < (round === 0 ? 4 : 3); i++) {
        await expectInvalidCode(
          await loginMfa(api, { mfa_token, code: wrongCode(api, user.secret) }),
        );
      }
    }
    const locked = await api.send("POST", "/api/user/login", {
      username: user.username,
      password: user.password,
    });
    expect(await expectRateLimited(locked, LOCKED_OUT)).toBeGreaterThan(0);
  });

  it("a live mfa_token of a locked name is 429 too, with nothing spent", async () => {
    const user = await enrolledUser(api);
    await awayFromStepEdge(api);
    const live = await passwordStep(api, user.username, user.password);
    const other = await passwordStep(api, user.username, user.password);
    for (let i = 0; i < 7; i++) {
      const token = i < 4 ? other : live;
      await loginMfa(api, { mfa_token: token, code: wrongCode(api, user.secret) });
    }
    const before = await stateOf(user.username);
    await expectRateLimited(
      await loginMfa(api, { mfa_token: live, code: codeAt(api, user.secret) }),
      LOCKED_OUT,
    );
    expect(await stateOf(user.username)).toEqual(before);
  });

  it("a backup code works once, and the login records it", async () => {
    const user = await enrolledUser(api);
    const [code] = user.backupCodes as [string];
    const first = await passwordStep(api, user.username, user.password);
    const res = await loginMfa(api, { mfa_token: first, backup_code: code.toUpperCase() });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await auditOf(user.username, "login.succeeded")).at(-1)?.detail).toBe("backup_code");
    expect((await factorState(api, user.username)).codes).toHaveLength(9);
    const before = await stateOf(user.username);
    const second = await passwordStep(api, user.username, user.password);
    await expectInvalidCode(await loginMfa(api, { mfa_token: second, backup_code: code }));
    expect(await stateOf(user.username)).toEqual(before);
  });

  it("two logins with one backup code at once: exactly one succeeds", async () => {
    const user = await enrolledUser(api);
    const [code] = user.backupCodes as [string];
    const tokens = [
      await passwordStep(api, user.username, user.password),
      await passwordStep(api, user.username, user.password),
    ];
    const answers = await Promise.all(
      tokens.map((mfa_token) => loginMfa(api, { mfa_token, backup_code: code })),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401]);
    const pairs = await Promise.all(
      answers.filter((r) => r.status === 200).map((r) => r.json() as Promise<TokenPair>),
    );
    expect(pairs).toHaveLength(1);
    expect((await factorState(api, user.username)).codes).toHaveLength(9);
  });

  it("takes a code or a backup code, not both nor neither", async () => {
    const user = await enrolledUser(api);
    const mfa_token = await passwordStep(api, user.username, user.password);
    for (const body of [{ mfa_token }, { mfa_token, code: "123456", backup_code: "x" }]) {
      const res = await loginMfa(api, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe("VALIDATION_ERROR");
    }
    expect((await challengeOf(api, mfa_token))?.failures).toBe(0);
  });

  it("an unknown mfa_token is 401", async () => {
    await expectDeadToken(await loginMfa(api, { mfa_token: "x".repeat(43), code: "123456" }));
  });
});
