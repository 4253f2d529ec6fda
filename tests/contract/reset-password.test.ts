import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deleteUser,
  expectUnauthorized,
  expireResetTokens,
  getSelf,
  INVALID_RESET_TOKEN,
  login,
  requestResetToken,
  resetPassword,
  resetRowsOf,
  rowOf,
} from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";

let api: ContractApi;
beforeAll(async () => {
  api = await startApi({ env: { EXPOSE_RESET_TOKEN: "true" } });
});
afterAll(() => api.close());

/** A new account with a live reset token. */
async function userWithToken() {
  const user = await api.createUser();
  const token = await requestResetToken(api, user);
  const { id } = await rowOf(api, user.username);
  return { ...user, id, token };
}

async function expectInvalidToken(res: Response) {
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual(INVALID_RESET_TOKEN);
}

describe("POST /api/user/reset_password", () => {
  it("answers 200 and the new password works while the old one does not", async () => {
    const user = await userWithToken();
    const res = await resetPassword(api, user.token, "a brand new password");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ msg: "Password has been reset." });
    expect((await login(api, user.username, "a brand new password")).status).toBe(200);
    expect((await login(api, user.username, user.password)).status).toBe(401);
  });

  it("consumes the token: no reset row is left for the account", async () => {
    const user = await userWithToken();
    await resetPassword(api, user.token, "a brand new password");
    expect(await resetRowsOf(api, user.id)).toEqual([]);
  });

  it("refuses every access token issued before the reset", async () => {
    const user = await api.createUser();
    const before = [
      await api.tokenFor(user.username, user.password),
      await api.tokenFor(user.username, user.password),
    ];
    for (const token of before) {
      expect((await getSelf(api, user.username, `Bearer ${token}`)).status).toBe(200);
    }
    const token = await requestResetToken(api, user);
    expect((await resetPassword(api, token, "a brand new password")).status).toBe(200);

    for (const old of before) {
      await expectUnauthorized(await getSelf(api, user.username, `Bearer ${old}`));
    }
    const fresh = await api.tokenFor(user.username, "a brand new password");
    expect((await getSelf(api, user.username, `Bearer ${fresh}`)).status).toBe(200);
  });

  it("does not touch other accounts", async () => {
    const user = await userWithToken();
    const other = await api.signedIn();
    const otherRow = await rowOf(api, other.username);
    await resetPassword(api, user.token, "a brand new password");
    expect(await rowOf(api, other.username)).toEqual(otherRow);
    expect((await getSelf(api, other.username, `Bearer ${other.token}`)).status).toBe(200);
  });
});

describe("reset tokens that must be refused with 400 INVALID_RESET_TOKEN, changing nothing", () => {
  it("a token already used (replay)", async () => {
    const user = await userWithToken();
    expect((await resetPassword(api, user.token, "the first new password")).status).toBe(200);
    const after = await rowOf(api, user.username);
    await expectInvalidToken(await resetPassword(api, user.token, "the replayed password"));
    expect(await rowOf(api, user.username)).toEqual(after);
    expect((await login(api, user.username, "the first new password")).status).toBe(200);
  });

  it.each([
    ["an unknown token", "A".repeat(43)],
    ["a token of one character", "x"],
    ["a SQL-looking token", "' OR '1'='1"],
  ])("%s", async (_label, token) => {
    const user = await userWithToken();
    const before = await rowOf(api, user.username);
    await expectInvalidToken(await resetPassword(api, token, "a hopeful new password"));
    expect(await rowOf(api, user.username)).toEqual(before);
    expect(await resetRowsOf(api, user.id)).toHaveLength(1);
  });

  it("the token's SHA-256 presented as the token", async () => {
    const user = await userWithToken();
    const [row] = await resetRowsOf(api, user.id);
    await expectInvalidToken(await resetPassword(api, row?.tokenHash ?? "", "a hopeful password"));
    expect((await resetPassword(api, user.token, "the real new password")).status).toBe(200);
  });

  it("an older token voided by a newer one", async () => {
    const user = await userWithToken();
    const newer = await requestResetToken(api, user);
    const before = await rowOf(api, user.username);
    await expectInvalidToken(await resetPassword(api, user.token, "the older token's password"));
    expect(await rowOf(api, user.username)).toEqual(before);
    expect((await resetPassword(api, newer, "the newer token's password")).status).toBe(200);
  });

  it("an expired token, which also stays unusable", async () => {
    const user = await userWithToken();
    await expireResetTokens(api, user.id);
    const before = await rowOf(api, user.username);
    await expectInvalidToken(await resetPassword(api, user.token, "a too-late password"));
    expect(await rowOf(api, user.username)).toEqual(before);
    expect((await login(api, user.username, user.password)).status).toBe(200);
    expect((await login(api, user.username, "a too-late password")).status).toBe(401);
  });

  it("a token whose account was deleted", async () => {
    const user = await userWithToken();
    await deleteUser(api, user.id);
    await expectInvalidToken(await resetPassword(api, user.token, "a ghost's password"));
    expect(await api.userRow(user.username)).toBeUndefined();
  });
});

describe("an admin's change to the account", () => {
  const adminPut = async (username: string, body: Record<string, unknown>) => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const res = await api.send("PUT", `/api/user/${username}`, body, admin.token);
    expect(res.status, await res.clone().text()).toBe(200);
  };

  it("voids a reset link mailed before a new password is set", async () => {
    const user = await userWithToken();
    await adminPut(user.username, { password: "set by the admin" });
    await expectInvalidToken(await resetPassword(api, user.token, "the attacker's choice"));
    expect((await login(api, user.username, "set by the admin")).status).toBe(200);
  });

  it("voids a reset link mailed to the old address when the email changes", async () => {
    const user = await userWithToken();
    await adminPut(user.username, { email: `moved_${user.email}` });
    await expectInvalidToken(await resetPassword(api, user.token, "the attacker's choice"));
    expect(await resetRowsOf(api, user.id)).toHaveLength(0);
  });

  it("keeps the reset link valid when only a name changes", async () => {
    const user = await userWithToken();
    await adminPut(user.username, { first_name: "Renamed" });
    expect((await resetPassword(api, user.token, "still my own choice")).status).toBe(200);
  });
});

describe("concurrent uses of one reset token", () => {
  it("let exactly one of 10 through; the winner's password is the one set", async () => {
    const user = await userWithToken();
    const passwords = Array.from({ length: 10 }, (_, i) => `concurrent password ${i}`);
    const results = await Promise.all(passwords.map((p) => resetPassword(api, user.token, p)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(9);
    for (const res of results.filter((r) => r.status === 400)) {
      expect(await res.json()).toEqual(INVALID_RESET_TOKEN);
    }

    const winner = passwords[statuses.indexOf(200)] as string;
    // A success clears the failure count, so the losers' passwords never reach the lockout.
    for (const password of passwords.filter((p) => p !== winner)) {
      expect((await login(api, user.username, password)).status, password).toBe(401);
      expect((await login(api, user.username, winner)).status, winner).toBe(200);
    }
    expect((await rowOf(api, user.username)).tokenVersion).toBe(1);
  });
});

describe("reset_password request validation", () => {
  it("refuses a too-short new_password with 400 and leaves the token usable", async () => {
    const user = await userWithToken();
    const before = await rowOf(api, user.username);
    const res = await resetPassword(api, user.token, "short");
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; details: { path: string }[] };
    expect(body).toMatchObject({ msg: expect.any(String), code: "VALIDATION_ERROR" });
    expect(body.details.map((d) => d.path)).toContain("new_password");
    expect(await rowOf(api, user.username)).toEqual(before);

    expect((await resetPassword(api, user.token, "long enough now")).status).toBe(200);
    expect((await login(api, user.username, "long enough now")).status).toBe(200);
  });

  it.each([
    ["a 129-character new_password", (t: string) => ({ token: t, new_password: "p".repeat(129) })],
    ["an unknown field", (t: string) => ({ token: t, new_password: "valid pass", user: "x" })],
    ["a missing token", () => ({ new_password: "valid password" })],
    ["an empty token", () => ({ token: "", new_password: "valid password" })],
  ])("refuses %s with 400 VALIDATION_ERROR, keeping the token", async (_label, build) => {
    const user = await userWithToken();
    const before = await rowOf(api, user.username);
    const res = await api.send("POST", "/api/user/reset_password", build(user.token));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ msg: expect.any(String), code: "VALIDATION_ERROR" });
    expect(await rowOf(api, user.username)).toEqual(before);
    expect(await resetRowsOf(api, user.id)).toHaveLength(1);
  });

  it("refuses a body that is not JSON with 415 and consumes nothing", async () => {
    const user = await userWithToken();
    const before = await rowOf(api, user.username);
    const res = await api.request("/api/user/reset_password", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ token: user.token, new_password: "a valid password" }),
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toEqual({ msg: expect.any(String), code: "UNSUPPORTED_MEDIA_TYPE" });
    expect(await rowOf(api, user.username)).toEqual(before);
    expect(await resetRowsOf(api, user.id)).toHaveLength(1);
  });
});
