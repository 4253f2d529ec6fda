import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ContractApi, PUBLIC_USER_KEYS, startApi } from "../support/contract-api";

let api: ContractApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

const get = (username: string, token?: string) =>
  api.send("GET", `/api/user/${encodeURIComponent(username)}`, undefined, token);

describe("GET /api/user/{username}", () => {
  it("answers a USER asking for itself with 200 and exactly the public fields", async () => {
    const me = await api.signedIn();
    const res = await get(me.username, me.token);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(PUBLIC_USER_KEYS);
    const row = await api.userRow(me.username);
    expect(body).toEqual({
      id: row?.id,
      username: me.username,
      first_name: "Test",
      last_name: "User",
      email: me.email,
      role: "USER",
      active: true,
      email_verified: false,
      mfa_enabled: false,
      created_at: row?.createdAt.toISOString(),
      updated_at: row?.updatedAt.toISOString(),
    });
  });

  it("matches the caller's own username in any letter case", async () => {
    const me = await api.signedIn();
    for (const variant of [me.username.toUpperCase(), capitalize(me.username)]) {
      const res = await get(variant, me.token);
      expect(res.status, variant).toBe(200);
      expect(((await res.json()) as { username: string }).username).toBe(me.username);
    }
  });

  it("never includes the password hash, the token version or the password", async () => {
    const me = await api.signedIn({ role: "ADMIN" });
    const row = await api.userRow(me.username);
    const res = await get(me.username, me.token);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toContain(row?.passwordHash ?? "<no row>");
    expect(text).not.toContain(me.password);
    expect(text).not.toMatch(/hash|token_version|tokenVersion|password/i);
  });

  it("reports role as exactly USER or ADMIN and timestamps as ISO 8601", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const own = (await (await get(admin.username, admin.token)).json()) as Record<string, unknown>;
    const other = (await (await get(user.username, admin.token)).json()) as Record<string, unknown>;
    expect(own.role).toBe("ADMIN");
    expect(other.role).toBe("USER");
    for (const body of [own, other]) {
      expect(typeof body.id).toBe("number");
      expect(body.active).toBe(true);
      expect(new Date(body.created_at as string).toISOString()).toBe(body.created_at);
      expect(new Date(body.updated_at as string).toISOString()).toBe(body.updated_at);
    }
  });

  it("lets an ADMIN read any USER account, in any letter case", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const res = await get(user.username.toUpperCase(), admin.token);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(PUBLIC_USER_KEYS);
    expect(body).toMatchObject({ username: user.username, email: user.email, role: "USER" });
  });

  it("lets an ADMIN read another ADMIN account", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const other = await api.createUser({ role: "ADMIN" });
    const res = await get(other.username, admin.token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ username: other.username, role: "ADMIN" });
  });

  it("lets an ADMIN read a deactivated account", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const off = await api.send("PUT", `/api/user/${user.username}`, { active: false }, admin.token);
    expect(off.status).toBe(200);
    const res = await get(user.username, admin.token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ username: user.username, active: false });
  });

  it("a USER asking for another user gets 403 even when it does not exist, with the same body", async () => {
    const me = await api.signedIn();
    const other = await api.createUser();
    const admin = await api.createUser({ role: "ADMIN" });

    const existing = await get(other.username, me.token);
    const existingAdmin = await get(admin.username, me.token);
    const missing = await get("nobody_here_at_all", me.token);
    expect(existing.status).toBe(403);
    expect(existingAdmin.status).toBe(403);
    expect(missing.status).toBe(403);
    const body = await existing.json();
    expect(body).toEqual({ msg: expect.any(String), code: "FORBIDDEN" });
    expect(await existingAdmin.json()).toEqual(body);
    expect(await missing.json()).toEqual(body);
    expect(JSON.stringify(body)).not.toContain(other.username);
  });

  it("an ADMIN asking for a missing account gets 404 NOT_FOUND", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const res = await get("no_such_account", admin.token);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ msg: expect.any(String), code: "NOT_FOUND" });
  });

  it("an ADMIN asking for a name that no account could have gets 404, not 400 or 500", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const res = await get("not a valid/username", admin.token);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: "NOT_FOUND" });
  });

  it("answers 401 with WWW-Authenticate: Bearer without a token", async () => {
    const user = await api.createUser();
    const res = await get(user.username);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({ msg: expect.any(String), code: "UNAUTHORIZED" });
    expect(JSON.stringify(body)).not.toContain(user.email);
  });

  it.each([
    ["a malformed token", "Bearer not-a-jwt"],
    ["a token with a forged signature", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"],
    ["a non-Bearer scheme", "Basic dXNlcjpwYXNz"],
    ["an empty Bearer", "Bearer "],
  ])("answers 401 with WWW-Authenticate: Bearer for %s", async (_label, authorization) => {
    const user = await api.signedIn();
    const res = await api.request(`/api/user/${user.username}`, { headers: { authorization } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await res.json()).toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("refuses the token of an account that was deactivated after it was issued", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.signedIn();
    await api.send("PUT", `/api/user/${user.username}`, { active: false }, admin.token);
    const res = await get(user.username, user.token);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });
});

function capitalize(s: string) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
