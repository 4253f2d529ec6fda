import { decode } from "hono/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimsOf, getSelf, login, rowOf, setActive } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";

let api: ContractApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

const INVALID_CREDENTIALS = { msg: "Invalid username or password.", code: "UNAUTHORIZED" };
const DEACTIVATED = { msg: "Your account is deactivated.", code: "FORBIDDEN" };

describe("POST /api/user/login", () => {
  it("answers 200 with a bare HS256 JWT, token_type Bearer and expires_in", async () => {
    const user = await api.createUser();
    const res = await login(api, user.username, user.password);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    // Sessions add a refresh token beside these; nothing else (no hash, no user row) belongs here.
    const allowed = [
      "access_token",
      "token_type",
      "expires_in",
      "refresh_token",
      "refresh_expires_in",
    ];
    expect(Object.keys(body).filter((k) => !allowed.includes(k))).toEqual([]);
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 900 });
    const token = body.access_token as string;
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(token).not.toMatch(/bearer/i);
    expect(decode(token).header).toMatchObject({ alg: "HS256" });

    const row = await rowOf(api, user.username);
    const claims = claimsOf(token);
    expect(claims).toMatchObject({ sub: String(row.id), role: "USER", ver: row.tokenVersion });
    expect(claims.exp - claims.iat).toBe(900);
    expect(claims.jti).toEqual(expect.any(String));
    expect((await getSelf(api, user.username, `Bearer ${token}`)).status).toBe(200);
  });

  it("gives every login its own token id", async () => {
    const user = await api.createUser();
    const first = await api.tokenFor(user.username, user.password);
    const second = await api.tokenFor(user.username, user.password);
    expect(claimsOf(first).jti).not.toBe(claimsOf(second).jti);
  });

  it("accepts the username in any letter case", async () => {
    const user = await api.createUser({ name: "Mixed.Case_Login" });
    for (const username of ["Mixed.Case_Login", "mixed.case_login", "MIXED.CASE_LOGIN"]) {
      const res = await login(api, username, user.password);
      expect(res.status, username).toBe(200);
    }
  });

  it("accepts the account's email, in any letter case, in place of the username", async () => {
    const user = await api.createUser({ name: "ByEmail" });
    for (const email of [user.email, user.email.toUpperCase(), "byemail@EXAMPLE.com"]) {
      const res = await login(api, email, user.password);
      expect(res.status, email).toBe(200);
      const token = ((await res.json()) as { access_token: string }).access_token;
      expect(claimsOf(token).sub).toBe(String((await rowOf(api, user.username)).id));
    }
  });

  it("does not change the account when it succeeds", async () => {
    const user = await api.createUser();
    const before = await rowOf(api, user.username);
    await api.tokenFor(user.username, user.password);
    expect(await rowOf(api, user.username)).toEqual(before);
  });
});

describe("login failures do not tell unknown accounts from wrong passwords", () => {
  it("answers a wrong password with 401 and the generic body, changing nothing", async () => {
    const user = await api.createUser();
    const before = await rowOf(api, user.username);
    const res = await login(api, user.username, `${user.password}x`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(INVALID_CREDENTIALS);
    expect(await rowOf(api, user.username)).toEqual(before);
  });

  it("answers an unknown username exactly like a wrong password", async () => {
    const user = await api.createUser();
    const wrong = await login(api, user.username, "not-the-password");
    const unknown = await login(api, "nobody_here", "not-the-password");
    expect(unknown.status).toBe(wrong.status);
    expect(await unknown.json()).toEqual(await wrong.json());
    expect(await api.userRow("nobody_here")).toBeUndefined();
  });

  it("answers an unknown email exactly like a wrong password", async () => {
    const res = await login(api, "nobody@example.com", "not-the-password");
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(INVALID_CREDENTIALS);
  });

  it("does not match a password that differs only in letter case", async () => {
    const user = await api.createUser({ password: "Case-Sensitive-Secret" });
    const res = await login(api, user.username, "case-sensitive-secret");
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(INVALID_CREDENTIALS);
  });
});

describe("login of a deactivated account", () => {
  it("answers 403 'Your account is deactivated.' after the right password, issuing no token", async () => {
    const user = await api.createUser();
    const row = await rowOf(api, user.username);
    await setActive(api, row.id, false);
    for (const name of [user.username, user.email.toUpperCase()]) {
      const res = await login(api, name, user.password);
      expect(res.status, name).toBe(403);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toEqual(DEACTIVATED);
    }
    expect(await rowOf(api, user.username)).toEqual({ ...row, active: false });
  });

  it("answers a wrong password with the generic 401, not the 403", async () => {
    const user = await api.createUser();
    await setActive(api, (await rowOf(api, user.username)).id, false);
    const res = await login(api, user.username, "not-the-password");
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(INVALID_CREDENTIALS);
  });

  it("logs in again once the account is reactivated", async () => {
    const user = await api.createUser();
    const { id } = await rowOf(api, user.username);
    await setActive(api, id, false);
    expect((await login(api, user.username, user.password)).status).toBe(403);
    await setActive(api, id, true);
    expect((await login(api, user.username, user.password)).status).toBe(200);
  });
});

describe("login request validation", () => {
  it.each([
    ["role", { role: "ADMIN" }],
    ["remember", { remember: true }],
  ])("refuses the unknown field %s with 400 naming it", async (field, extra) => {
    const user = await api.createUser();
    const res = await api.send("POST", "/api/user/login", {
      username: user.username,
      password: user.password,
      ...extra,
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { msg: string; code: string; details: { path: string }[] };
    expect(body).toMatchObject({ msg: expect.any(String), code: "VALIDATION_ERROR" });
    expect(body.details).toContainEqual({ path: field, message: expect.any(String) });
    expect(body).not.toHaveProperty("access_token");
  });

  it.each([
    ["a missing password", { username: "someone" }, "password"],
    ["a missing username", { password: "some-password" }, "username"],
    ["an empty username", { username: "", password: "some-password" }, "username"],
    ["a numeric password", { username: "someone", password: 12345678 }, "password"],
  ])("refuses %s with 400 naming the field", async (_label, body, field) => {
    const res = await api.send("POST", "/api/user/login", body);
    expect(res.status).toBe(400);
    const err = (await res.json()) as { code: string; details: { path: string }[] };
    expect(err.code).toBe("VALIDATION_ERROR");
    expect(err.details.map((d) => d.path)).toContain(field);
  });

  it("refuses malformed JSON with 400 INVALID_JSON", async () => {
    const res = await api.send("POST", "/api/user/login", '{"username": "x", ');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ msg: expect.any(String), code: "INVALID_JSON" });
  });
});
