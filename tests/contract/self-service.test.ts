import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import {
  expectUnauthorized,
  login,
  requestResetToken,
  resetRowsOf,
  rowOf,
  setActive,
} from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";
import {
  expectRateLimited,
  expectRefreshRefused,
  LOCKED_OUT,
  loginPair,
  REFRESH_TOKEN_SHAPE,
  refresh,
  refreshPair,
  sessionsOfUser,
  type TokenPair,
} from "../support/session-helpers";

// POST /api/me/password and DELETE /api/me: the caller's own password, checked like a login.

let api: ContractApi;
beforeAll(async () => {
  api = await startApi({ env: { EXPOSE_RESET_TOKEN: "true" } });
});
afterAll(() => api.close());

const changePassword = (body: unknown, token?: string) =>
  api.send("POST", "/api/me/password", body, token);
const deleteMe = (body: unknown, token?: string) => api.send("DELETE", "/api/me", body, token);

const INVALID_PASSWORD = { msg: "Invalid password.", code: "UNAUTHORIZED" };
const NEW_PASSWORD = "a fresh and long passphrase";

/** A signed-in account with its login's full token pair. */
async function signedInPair(role: "USER" | "ADMIN" = "USER") {
  const user = await api.createUser({ role });
  const pair = await loginPair(api, user.username, user.password);
  return { ...user, pair, token: pair.access_token };
}

/** What must not move when a request is refused: the row, and the caller's token still works. */
async function expectUnchanged(user: { username: string; token: string }, before: object) {
  expect(await rowOf(api, user.username)).toEqual(before);
  expect((await api.send("GET", "/api/me", undefined, user.token)).status).toBe(200);
}

async function expectInvalidPassword(res: Response) {
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toBe("Bearer");
  expect(await res.json()).toEqual(INVALID_PASSWORD);
}

async function expectValidationError(res: Response, path: string) {
  expect(res.status, await res.clone().text()).toBe(400);
  const body = (await res.json()) as { code: string; details: { path: string }[] };
  expect(body.code).toBe("VALIDATION_ERROR");
  expect(body.details.map((d) => d.path)).toContain(path);
}

describe("POST /api/me/password", () => {
  it("answers a fresh pair in a new session; every other session and access token is revoked", async () => {
    const me = await signedInPair();
    const otherSession = await loginPair(api, me.username, me.password);
    const resetToken = await requestResetToken(api, me);
    const before = await rowOf(api, me.username);

    const res = await changePassword(
      { current_password: me.password, new_password: NEW_PASSWORD },
      me.token,
    );
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const pair = (await res.json()) as TokenPair;
    expect(pair).toEqual({
      access_token: expect.any(String),
      token_type: "Bearer",
      expires_in: expect.any(Number),
      refresh_token: expect.stringMatching(REFRESH_TOKEN_SHAPE),
      refresh_expires_in: expect.any(Number),
    });

    // The fresh pair works, in a session of its own.
    expect((await api.send("GET", "/api/me", undefined, pair.access_token)).status).toBe(200);
    const rotated = await refreshPair(api, pair.refresh_token);
    expect((await api.send("GET", "/api/me", undefined, rotated.access_token)).status).toBe(200);
    // Everything issued before is dead: both access tokens, both sessions' refresh tokens.
    await expectUnauthorized(await api.send("GET", "/api/me", undefined, me.token));
    await expectUnauthorized(
      await api.send("GET", "/api/me", undefined, otherSession.access_token),
    );
    await expectRefreshRefused(await refresh(api, me.pair.refresh_token));
    await expectRefreshRefused(await refresh(api, otherSession.refresh_token));
    // The reset link mailed before is void.
    expect(await resetRowsOf(api, before.id)).toEqual([]);
    const reset = await api.send("POST", "/api/user/reset_password", {
      token: resetToken,
      new_password: "yet another passphrase",
    });
    expect(reset.status).toBe(400);

    // Only the new password logs in.
    expect((await login(api, me.username, me.password)).status).toBe(401);
    expect((await login(api, me.username, NEW_PASSWORD)).status).toBe(200);
    const after = await rowOf(api, me.username);
    expect(after.passwordHash).not.toBe(before.passwordHash);
    expect(after.tokenVersion).toBe(before.tokenVersion + 1);
  });

  it("a wrong current password: 401, nothing changes", async () => {
    const me = await signedInPair();
    const before = await rowOf(api, me.username);
    await expectInvalidPassword(
      await changePassword(
        { current_password: "not my password", new_password: NEW_PASSWORD },
        me.token,
      ),
    );
    await expectUnchanged(me, before);
    expect(await sessionsOfUser(api, before.id)).toHaveLength(1);
    expect((await refresh(api, me.pair.refresh_token)).status).toBe(200);
  });

  it.each([
    ["too short", "short", "new_password"],
    ["too long", "x".repeat(129), "new_password"],
    ["too common", "password123", "new_password"],
    ["the username", "(username)", "new_password"],
    ["the current one", "(current)", "new_password"],
  ])("a new password that is %s: 400, nothing changes", async (_, candidate, path) => {
    const me = await signedInPair();
    const before = await rowOf(api, me.username);
    const newPassword =
      candidate === "(username)"
        ? me.username
        : candidate === "(current)"
          ? me.password
          : candidate;
    await expectValidationError(
      await changePassword({ current_password: me.password, new_password: newPassword }, me.token),
      path,
    );
    await expectUnchanged(me, before);
  });

  it.each([
    [
      "an unknown field",
      { current_password: "x", new_password: NEW_PASSWORD, role: "ADMIN" },
      "role",
    ],
    ["no current password", { new_password: NEW_PASSWORD }, "current_password"],
    ["no new password", { current_password: "x" }, "new_password"],
    [
      "an empty current password",
      { current_password: "", new_password: NEW_PASSWORD },
      "current_password",
    ],
  ])("%s: 400, nothing changes", async (_, body, path) => {
    const me = await signedInPair();
    const before = await rowOf(api, me.username);
    await expectValidationError(await changePassword(body, me.token), path);
    await expectUnchanged(me, before);
  });

  it("without a valid token: 401 before anything else", async () => {
    const me = await signedInPair();
    const before = await rowOf(api, me.username);
    const body = { current_password: me.password, new_password: NEW_PASSWORD };
    await expectUnauthorized(await changePassword(body));
    await expectUnauthorized(await changePassword(body, "a.b.c"));
    await setActive(api, before.id, false);
    await expectUnauthorized(await changePassword(body, me.token));
    expect((await rowOf(api, me.username)).passwordHash).toBe(before.passwordHash);
  });

  it("wrong current passwords count toward the login lockout, shared with /login", async () => {
    const me = await signedInPair();
    const before = await rowOf(api, me.username);
    for (let i = 0; i < 2; i++)
      expect((await login(api, me.username, "wrong guess")).status).toBe(401);
    for (let i = 0; i < 3; i++) {
      await expectInvalidPassword(
        await changePassword(
          { current_password: `guess ${i}`, new_password: NEW_PASSWORD },
          me.token,
        ),
      );
    }
    // Five failures in all: locked, even with the right password, here and at login.
    await expectRateLimited(
      await changePassword({ current_password: me.password, new_password: NEW_PASSWORD }, me.token),
      LOCKED_OUT,
    );
    await expectRateLimited(await login(api, me.username, me.password), LOCKED_OUT);
    await expectRateLimited(await deleteMe({ password: me.password }, me.token), LOCKED_OUT);
    await expectUnchanged(me, before);
  });
});

describe("DELETE /api/me", () => {
  it("a USER deletes its own account: its tokens, sessions and login end with it", async () => {
    const me = await signedInPair();
    const { id } = await rowOf(api, me.username);
    const res = await deleteMe({ password: me.password }, me.token);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual({ msg: "Account deleted." });
    expect(await api.userRow(me.username)).toBeUndefined();
    expect(await sessionsOfUser(api, id)).toEqual([]);
    await expectUnauthorized(await api.send("GET", "/api/me", undefined, me.token));
    await expectRefreshRefused(await refresh(api, me.pair.refresh_token));
    expect((await login(api, me.username, me.password)).status).toBe(401);
    // The name is free again.
    await api.createUser({ name: me.username });
  });

  it("a wrong password: 401, nothing changes", async () => {
    const me = await signedInPair();
    const before = await rowOf(api, me.username);
    await expectInvalidPassword(await deleteMe({ password: "not my password" }, me.token));
    await expectUnchanged(me, before);
  });

  it.each([
    ["no body", undefined],
    ["an empty object", {}],
    ["an unknown field", { password: "x", username: "someone" }],
    ["a password that is not a string", { password: 12345678 }],
  ])("%s: 400, nothing changes", async (_, body) => {
    const me = await signedInPair();
    const before = await rowOf(api, me.username);
    const res = await deleteMe(body, me.token);
    expect(res.status, await res.clone().text()).toBe(400);
    expect(((await res.json()) as { code: string }).code).toMatch(
      /^(VALIDATION_ERROR|INVALID_JSON)$/,
    );
    await expectUnchanged(me, before);
  });

  it("a body that is not JSON: 415, nothing changes", async () => {
    const me = await signedInPair();
    const before = await rowOf(api, me.username);
    const res = await api.request("/api/me", {
      method: "DELETE",
      headers: { authorization: `Bearer ${me.token}`, "content-type": "text/plain" },
      body: JSON.stringify({ password: me.password }),
    });
    expect(res.status).toBe(415);
    await expectUnchanged(me, before);
  });

  it("without a valid token: 401", async () => {
    const me = await signedInPair();
    const before = await rowOf(api, me.username);
    await expectUnauthorized(await deleteMe({ password: me.password }));
    await expectUnauthorized(await deleteMe({ password: me.password }, "a.b.c"));
    await expectUnchanged(me, before);
  });

  it("the last active ADMIN cannot (409); an inactive ADMIN does not count as another", async () => {
    // Every active ADMIN but this test's own is retired first.
    await api.db.update(users).set({ active: false }).where(eq(users.role, "ADMIN"));
    const me = await signedInPair("ADMIN");
    const inactive = await api.createUser({ role: "ADMIN" });
    await setActive(api, (await rowOf(api, inactive.username)).id, false);
    const before = await rowOf(api, me.username);
    const res = await deleteMe({ password: me.password }, me.token);
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({
      msg: "The last active ADMIN cannot delete itself.",
      code: "CONFLICT",
    });
    await expectUnchanged(me, before);

    // With another active ADMIN it can.
    const other = await signedInPair("ADMIN");
    expect((await deleteMe({ password: me.password }, me.token)).status).toBe(200);
    expect(await api.userRow(me.username)).toBeUndefined();
    // And that one is now the last.
    expect((await deleteMe({ password: other.password }, other.token)).status).toBe(409);
  });

  it("two last ADMINs deleting themselves at once: exactly one goes", async () => {
    await api.db.update(users).set({ active: false }).where(eq(users.role, "ADMIN"));
    const admins = [await signedInPair("ADMIN"), await signedInPair("ADMIN")];
    const answers = await Promise.all(
      admins.map((admin) => deleteMe({ password: admin.password }, admin.token)),
    );
    expect(answers.map((res) => res.status).sort()).toEqual([200, 409]);
    const left = await Promise.all(admins.map((admin) => api.userRow(admin.username)));
    expect(left.filter(Boolean)).toHaveLength(1);
  });
});
