import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deleteUser,
  expectUnauthorized,
  login,
  requestResetToken,
  resetPassword,
  rowOf,
  setActive,
} from "../support/auth-helpers";
import { type ContractApi, PUBLIC_USER_KEYS, startApi } from "../support/contract-api";
import { loginPair, refresh } from "../support/session-helpers";

let api: ContractApi;
beforeAll(async () => {
  api = await startApi({ env: { EXPOSE_RESET_TOKEN: "true" } });
});
afterAll(() => api.close());

const getMe = (token?: string) => api.send("GET", "/api/me", undefined, token);
const patchMe = (body: unknown, token?: string) => api.send("PATCH", "/api/me", body, token);

/** The public body of the account as stored now. */
async function publicBody(username: string) {
  const row = await rowOf(api, username);
  return {
    id: row.id,
    username: row.username,
    first_name: row.firstName,
    last_name: row.lastName,
    email: row.email,
    role: row.role,
    active: row.active,
    email_verified: row.emailVerified,
    mfa_enabled: row.mfaEnabled,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

describe("GET /api/me", () => {
  it.each(["USER", "ADMIN"] as const)("a %s reads its own account, never a hash", async (role) => {
    const me = await api.signedIn({ role });
    const res = await getMe(me.token);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(PUBLIC_USER_KEYS);
    expect(body).toEqual(await publicBody(me.username));
    // The same body as the account's own GET /api/user/{username}.
    const other = await api.send("GET", `/api/user/${me.username}`, undefined, me.token);
    expect(await other.json()).toEqual(body);
  });

  it("without a token, or with a malformed one: 401", async () => {
    await expectUnauthorized(await getMe());
    await expectUnauthorized(
      await api.request("/api/me", { headers: { authorization: "Bearer" } }),
    );
    await expectUnauthorized(await getMe("a.b.c"));
  });

  it("the token of a deactivated, deleted or password-reset account: 401", async () => {
    const deactivated = await api.signedIn();
    const deleted = await api.signedIn();
    const reset = await api.signedIn();
    await setActive(api, (await rowOf(api, deactivated.username)).id, false);
    await deleteUser(api, (await rowOf(api, deleted.username)).id);
    const token = await requestResetToken(api, reset);
    expect((await resetPassword(api, token, "a brand new password")).status).toBe(200);
    for (const who of [deactivated, deleted, reset]) {
      await expectUnauthorized(await getMe(who.token));
    }
  });
});

describe("PATCH /api/me", () => {
  it.each([
    [{ first_name: "Grace" }, "Grace", "User"],
    [{ last_name: "Hopper" }, "Test", "Hopper"],
    [{ first_name: "Grace", last_name: "Hopper" }, "Grace", "Hopper"],
    // The same rules as register: trimmed, any Unicode.
    [{ first_name: "  Zoë  ", last_name: "\u00a0O'Brien-Łukasz " }, "Zoë", "O'Brien-Łukasz"],
    [{ first_name: "😀".repeat(50) }, "😀".repeat(50), "User"],
  ])("%j changes only the names and answers the account", async (body, first, last) => {
    const me = await api.signedIn();
    const before = await rowOf(api, me.username);
    const res = await patchMe(body, me.token);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const answer = (await res.json()) as Record<string, unknown>;
    const after = await rowOf(api, me.username);
    expect(after).toEqual({
      ...before,
      firstName: first,
      lastName: last,
      searchText: expect.any(String),
      updatedAt: expect.any(Date),
    });
    expect(answer).toEqual(await publicBody(me.username));
    expect(after.updatedAt.getTime()).toBeGreaterThanOrEqual(before.updatedAt.getTime());
  });

  it("an ADMIN changes its own names the same way", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const res = await patchMe({ last_name: "Admin" }, admin.token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ role: "ADMIN", last_name: "Admin" });
  });

  it("revokes nothing: the same access token and session keep working", async () => {
    const me = await api.createUser();
    const pair = await loginPair(api, me.username, me.password);
    const before = await rowOf(api, me.username);
    expect((await patchMe({ first_name: "Still" }, pair.access_token)).status).toBe(200);
    expect((await rowOf(api, me.username)).tokenVersion).toBe(before.tokenVersion);
    const res = await getMe(pair.access_token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ first_name: "Still" });
    expect((await refresh(api, pair.refresh_token)).status).toBe(200);
    expect((await login(api, me.username, me.password)).status).toBe(200);
  });

  describe("refusals change nothing", () => {
    /** Sends the PATCH as a fresh account and asserts the 400 and that its row is untouched. */
    async function expectRefused(body: unknown, details: { path: string; message?: string }[]) {
      const me = await api.signedIn();
      const before = await rowOf(api, me.username);
      const res = await patchMe(body, me.token);
      const label = JSON.stringify(body);
      expect(res.status, label).toBe(400);
      expect(await res.json(), label).toEqual({
        msg: "Invalid request.",
        code: "VALIDATION_ERROR",
        details: details.map((d) => ({ message: expect.any(String), ...d })),
      });
      expect(await rowOf(api, me.username), label).toEqual(before);
    }

    it.each([
      ["role", "ADMIN"],
      ["email", "new@example.com"],
      ["active", false],
      ["username", "renamed_me"],
      ["password", "a new long password"],
      ["id", 1],
      ["token_version", 7],
      ["created_at", "2020-01-01T00:00:00.000Z"],
    ])("%s is an unknown field, even beside a valid name", async (field, value) => {
      await expectRefused({ [field]: value }, [
        { path: field, message: "Unknown field." },
        { path: "(body)", message: "Provide first_name, last_name or both." },
      ]);
      await expectRefused({ first_name: "Valid", [field]: value }, [
        { path: field, message: "Unknown field." },
      ]);
    });

    it("an empty body", async () => {
      await expectRefused({}, [
        { path: "(body)", message: "Provide first_name, last_name or both." },
      ]);
    });

    it.each([
      ["empty", ""],
      ["only spaces", "   "],
      ["51 characters", "x".repeat(51)],
      ["51 code points", "😀".repeat(51)],
      ["a control character", "Ada\u0007"],
      ["a tab inside", "Ada\tLovelace"],
      ["a NUL", "Ada\u0000"],
      ["a number", 42],
      ["null", null],
      ["an array", ["Ada"]],
    ])("a first_name or last_name that is %s", async (_l, value) => {
      await expectRefused({ first_name: value }, [{ path: "first_name" }]);
      await expectRefused({ last_name: value, first_name: "Fine" }, [{ path: "last_name" }]);
    });
  });

  it("without a token: 401, nothing changed", async () => {
    const me = await api.signedIn();
    const before = await rowOf(api, me.username);
    await expectUnauthorized(await patchMe({ first_name: "Nobody" }));
    await expectUnauthorized(await patchMe({ first_name: "Nobody" }, "a.b.c"));
    expect(await rowOf(api, me.username)).toEqual(before);
  });

  it("with the token of a deactivated account: 401, nothing changed", async () => {
    const me = await api.signedIn();
    await setActive(api, (await rowOf(api, me.username)).id, false);
    const before = await rowOf(api, me.username);
    await expectUnauthorized(await patchMe({ first_name: "Sneaky" }, me.token));
    expect(await rowOf(api, me.username)).toEqual(before);
  });

  it("with a token revoked by a role change: 401, nothing changed", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const me = await api.signedIn();
    const promote = await api.send(
      "PUT",
      `/api/user/${me.username}`,
      { role: "ADMIN" },
      admin.token,
    );
    expect(promote.status).toBe(200);
    const before = await rowOf(api, me.username);
    await expectUnauthorized(await patchMe({ first_name: "Stale" }, me.token));
    expect(await rowOf(api, me.username)).toEqual(before);
  });
});
