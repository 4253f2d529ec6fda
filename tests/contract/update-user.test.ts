import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import { usernameIs } from "../../src/users/user.store";
import { login, rowOf } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";

let api: ContractApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

const put = (target: string, body: unknown, token?: string) =>
  api.send("PUT", `/api/user/${encodeURIComponent(target)}`, body, token);

const get = (target: string, token: string) =>
  api.send("GET", `/api/user/${encodeURIComponent(target)}`, undefined, token);

const expectRevoked = async (res: Response) => {
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
  expect(await res.json()).toMatchObject({ code: "UNAUTHORIZED" });
};

describe("PUT /api/user/{username}: who may update whom", () => {
  it("a USER gets 403 even for itself, and nothing changes", async () => {
    const me = await api.signedIn();
    const before = await rowOf(api, me.username);
    const res = await put(me.username, { first_name: "Changed" }, me.token);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ msg: expect.any(String), code: "FORBIDDEN" });
    expect(await rowOf(api, me.username)).toEqual(before);
  });

  it("a USER gets 403 for another USER, an ADMIN and a missing account alike", async () => {
    const me = await api.signedIn();
    const other = await api.createUser();
    const admin = await api.createUser({ role: "ADMIN" });
    const otherBefore = await rowOf(api, other.username);
    const adminBefore = await rowOf(api, admin.username);
    const bodies = [];
    for (const target of [other.username, admin.username, "ghost_account"]) {
      const res = await put(target, { role: "ADMIN" }, me.token);
      expect(res.status, target).toBe(403);
      bodies.push(await res.json());
    }
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[2]).toEqual(bodies[0]);
    expect(await rowOf(api, other.username)).toEqual(otherBefore);
    expect(await rowOf(api, admin.username)).toEqual(adminBefore);
    expect(await rowOf(api, me.username)).toMatchObject({ role: "USER" });
  });

  it("a USER gets 403 before its request is validated, as at GET /api/users", async () => {
    const me = await api.signedIn();
    const before = await rowOf(api, me.username);
    for (const body of [{ role: "OWNER" }, { email: "not an email" }, { first_name: 7 }]) {
      const res = await put(me.username, body, me.token);
      expect(res.status, JSON.stringify(body)).toBe(403);
      expect(await res.json()).toEqual({ msg: "Only an ADMIN can do this.", code: "FORBIDDEN" });
    }
    expect(await rowOf(api, me.username)).toEqual(before);
  });

  it("answers 401 with WWW-Authenticate: Bearer without a token, and nothing changes", async () => {
    const user = await api.createUser();
    const before = await rowOf(api, user.username);
    const res = await put(user.username, { first_name: "Anonymous" });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await rowOf(api, user.username)).toEqual(before);
  });

  it("an ADMIN updates a USER: 200 with the message and the updated public account", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const res = await put(
      user.username,
      { first_name: "  Grace ", last_name: "Hopper", email: `new_${user.email}` },
      admin.token,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { msg: string; user: Record<string, unknown> };
    expect(Object.keys(body).sort()).toEqual(["msg", "user"]);
    expect(body.msg).toBe("User details updated.");
    const row = await rowOf(api, user.username);
    expect(body.user).toEqual({
      id: row?.id,
      username: user.username,
      first_name: "Grace",
      last_name: "Hopper",
      email: `new_${user.email}`,
      role: "USER",
      active: true,
      email_verified: false,
      mfa_enabled: false,
      created_at: row?.createdAt.toISOString(),
      updated_at: row?.updatedAt.toISOString(),
    });
    expect(row).toMatchObject({ firstName: "Grace", lastName: "Hopper" });
    expect(JSON.stringify(body)).not.toMatch(/hash|token_version|password/i);
  });

  it("an ADMIN finds the target in any letter case", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const res = await put(user.username.toUpperCase(), { last_name: "Upper" }, admin.token);
    expect(res.status).toBe(200);
    expect(await rowOf(api, user.username)).toMatchObject({ lastName: "Upper" });
  });

  it("an ADMIN updates itself", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const res = await put(admin.username, { first_name: "Boss" }, admin.token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      msg: "User details updated.",
      user: { username: admin.username, first_name: "Boss", role: "ADMIN" },
    });
    expect(await rowOf(api, admin.username)).toMatchObject({ firstName: "Boss", role: "ADMIN" });
  });

  it("an ADMIN updating another ADMIN gets 403, and nothing changes", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const other = await api.createUser({ role: "ADMIN" });
    const before = await rowOf(api, other.username);
    for (const body of [{ first_name: "Hijacked" }, { role: "USER" }, { active: false }]) {
      const res = await put(other.username, body, admin.token);
      expect(res.status, JSON.stringify(body)).toBe(403);
      expect(await res.json()).toMatchObject({ code: "FORBIDDEN" });
    }
    expect(await rowOf(api, other.username)).toEqual(before);
  });

  it("an ADMIN gets 404 NOT_FOUND for a missing account", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const res = await put("nobody_by_this_name", { first_name: "X" }, admin.token);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ msg: expect.any(String), code: "NOT_FOUND" });
    expect(await api.userRow("nobody_by_this_name")).toBeUndefined();
  });
});

describe("PUT /api/user/{username}: the body", () => {
  it("refuses an empty body with 400, and nothing changes", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const before = await rowOf(api, user.username);
    const res = await put(user.username, {}, admin.token);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "VALIDATION_ERROR" });
    expect(await rowOf(api, user.username)).toEqual(before);
  });

  it.each([
    ["id", 1],
    ["token_version", 99],
    ["password_hash", "$argon2id$v=19$m=19456,t=2,p=1$AAAA$BBBB"],
    ["passwordHash", "x"],
    ["created_at", "2000-01-01T00:00:00.000Z"],
    ["is_admin", true],
  ])(
    "refuses the unknown field %s with 400 naming it, and changes nothing else",
    async (field, value) => {
      const admin = await api.signedIn({ role: "ADMIN" });
      const user = await api.createUser();
      const before = await rowOf(api, user.username);
      const res = await put(user.username, { first_name: "Sneaky", [field]: value }, admin.token);
      expect(res.status).toBe(400);
      const err = (await res.json()) as { code: string; details: { path: string }[] };
      expect(err.code).toBe("VALIDATION_ERROR");
      expect(err.details.map((d) => d.path)).toContain(field);
      expect(await rowOf(api, user.username)).toEqual(before);
    },
  );

  it.each([
    ["a too-short username", { username: "ab" }, "username"],
    ["a 51-character username", { username: "x".repeat(51) }, "username"],
    ["a username with a slash", { username: "a/b" }, "username"],
    ["a username with an @", { username: "a@b.c" }, "username"],
    ["a reserved username", { username: "Login" }, "username"],
    ["an invalid email", { email: "not-an-email" }, "email"],
    ["a 255-character email", { email: `${"e".repeat(243)}@example.com` }, "email"],
    ["a blank first name", { first_name: "   " }, "first_name"],
    ["a 51-character last name", { last_name: "n".repeat(51) }, "last_name"],
    ["a control character in a name", { first_name: "a\u0000b" }, "first_name"],
    ["a 7-character password", { password: "1234567" }, "password"],
    ["a 129-character password", { password: "p".repeat(129) }, "password"],
    ["an unknown role", { role: "SUPERUSER" }, "role"],
    ["a lower-case role", { role: "admin" }, "role"],
    ["active as a string", { active: "false" }, "active"],
    ["active as a number", { active: 0 }, "active"],
    ["a null first name", { first_name: null }, "first_name"],
    ["a numeric username", { username: 12345 }, "username"],
  ])("refuses %s with 400 naming the field, and nothing changes", async (_label, body, field) => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.signedIn();
    const before = await rowOf(api, user.username);
    const res = await put(user.username, body, admin.token);
    expect(res.status).toBe(400);
    const err = (await res.json()) as { code: string; details: { path: string }[] };
    expect(err.code).toBe("VALIDATION_ERROR");
    expect(err.details.map((d) => d.path)).toContain(field);
    expect(await rowOf(api, user.username)).toEqual(before);
    expect((await get(user.username, user.token)).status).toBe(200);
  });

  it("refuses a username taken in another letter case with 409, and nothing changes", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.signedIn();
    const taken = await api.createUser();
    const before = await rowOf(api, user.username);
    const res = await put(user.username, { username: taken.username.toUpperCase() }, admin.token);
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ msg: expect.any(String), code: "CONFLICT" });
    expect(await rowOf(api, user.username)).toEqual(before);
    expect((await get(user.username, user.token)).status).toBe(200);
  });

  it("refuses an email taken in another letter case with 409, and nothing changes", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const taken = await api.createUser();
    const before = await rowOf(api, user.username);
    const res = await put(
      user.username,
      { email: taken.email.toUpperCase(), first_name: "Partial" },
      admin.token,
    );
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: "CONFLICT" });
    expect(await rowOf(api, user.username)).toEqual(before);
  });

  it("refuses renaming an ADMIN to the name of another account with 409", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const taken = await api.createUser();
    const before = await rowOf(api, admin.username);
    const res = await put(admin.username, { username: taken.username }, admin.token);
    expect(res.status).toBe(409);
    expect(await rowOf(api, admin.username)).toEqual(before);
    expect((await get(admin.username, admin.token)).status).toBe(200);
  });

  it("lets an account keep its own username and email in another letter case", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const res = await put(
      user.username,
      { username: user.username.toUpperCase(), email: user.email.toUpperCase() },
      admin.token,
    );
    expect(res.status).toBe(200);
    expect(await rowOf(api, user.username)).toMatchObject({
      username: user.username.toUpperCase(),
      email: user.email.toUpperCase(),
    });
  });

  it("stores a new password only as a hash, and the new password logs in", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const before = await rowOf(api, user.username);
    const res = await put(user.username, { password: "brand new passphrase" }, admin.token);
    expect(res.status).toBe(200);
    expect(await res.text()).not.toContain("brand new passphrase");
    const after = await rowOf(api, user.username);
    expect(after?.passwordHash).not.toBe(before?.passwordHash);
    expect(after?.passwordHash).not.toContain("brand new passphrase");
    expect((await login(api, user.username, "brand new passphrase")).status).toBe(200);
    expect((await login(api, user.username, user.password)).status).toBe(401);
  });
});

describe("PUT /api/user/{username}: changes that revoke the account's tokens", () => {
  it("a password change revokes the account's existing tokens at once", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.signedIn();
    const res = await put(user.username, { password: "another passphrase" }, admin.token);
    expect(res.status).toBe(200);
    await expectRevoked(await get(user.username, user.token));
    const fresh = await api.tokenFor(user.username, "another passphrase");
    expect((await get(user.username, fresh)).status).toBe(200);
  });

  it("an ADMIN changing its own password revokes its own old token", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const res = await put(admin.username, { password: "admin new passphrase" }, admin.token);
    expect(res.status).toBe(200);
    await expectRevoked(await get(admin.username, admin.token));
    expect((await login(api, admin.username, "admin new passphrase")).status).toBe(200);
  });

  it("a username change revokes the tokens; the new name logs in and the old one does not", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.signedIn();
    const renamed = `${user.username}_renamed`;
    const res = await put(user.username, { username: renamed }, admin.token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ user: { username: renamed } });
    await expectRevoked(await get(renamed, user.token));
    await expectRevoked(await get(user.username, user.token));
    expect((await login(api, user.username, user.password)).status).toBe(401);
    const fresh = await api.tokenFor(renamed, user.password);
    expect((await get(renamed, fresh)).status).toBe(200);
    expect((await get(user.username, admin.token)).status).toBe(404);
  });

  it("promoting a USER revokes its USER token; a fresh token carries ADMIN rights", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.signedIn();
    const victim = await api.createUser();
    const res = await put(user.username, { role: "ADMIN" }, admin.token);
    expect(res.status).toBe(200);
    expect(await rowOf(api, user.username)).toMatchObject({ role: "ADMIN" });
    await expectRevoked(await get(victim.username, user.token));
    const fresh = await api.tokenFor(user.username, user.password);
    expect((await get(victim.username, fresh)).status).toBe(200);
  });

  it("a demoted ADMIN's old token no longer has admin rights", async () => {
    const other = await api.signedIn({ role: "ADMIN" });
    const admin = await api.signedIn({ role: "ADMIN" });
    const target = await api.createUser();
    const targetBefore = await rowOf(api, target.username);
    const res = await put(admin.username, { role: "USER" }, admin.token);
    expect(res.status).toBe(200);
    expect(await rowOf(api, admin.username)).toMatchObject({ role: "USER" });

    await expectRevoked(await get(target.username, admin.token));
    await expectRevoked(await put(target.username, { first_name: "Nope" }, admin.token));
    await expectRevoked(
      await api.send("DELETE", `/api/user/${target.username}`, undefined, admin.token),
    );
    const fresh = await api.tokenFor(admin.username, admin.password);
    expect((await get(target.username, fresh)).status).toBe(403);
    expect((await put(target.username, { first_name: "Nope" }, fresh)).status).toBe(403);
    expect((await put(admin.username, { role: "ADMIN" }, fresh)).status).toBe(403);
    expect(await rowOf(api, target.username)).toEqual(targetBefore);
    expect(await rowOf(api, admin.username)).toMatchObject({ role: "USER" });
    expect((await get(other.username, other.token)).status).toBe(200);
  });

  it("a deactivated user's token is refused and its login gets 403", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.signedIn();
    const res = await put(user.username, { active: false }, admin.token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ user: { active: false } });
    await expectRevoked(await get(user.username, user.token));
    const denied = await login(api, user.username, user.password);
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ msg: "Your account is deactivated." });
    const wrong = await login(api, user.username, "wrong password!");
    expect(wrong.status).toBe(401);
  });

  it("a reactivated user can log in again, but its token from before stays revoked", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.signedIn();
    expect((await put(user.username, { active: false }, admin.token)).status).toBe(200);
    expect((await put(user.username, { active: true }, admin.token)).status).toBe(200);
    await expectRevoked(await get(user.username, user.token));
    const fresh = await api.tokenFor(user.username, user.password);
    expect((await get(user.username, fresh)).status).toBe(200);
  });

  it("changing only first_name or last_name does not revoke tokens", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.signedIn();
    const before = await rowOf(api, user.username);
    expect((await put(user.username, { first_name: "Renamed" }, admin.token)).status).toBe(200);
    expect((await put(user.username, { last_name: "Again" }, admin.token)).status).toBe(200);
    const res = await get(user.username, user.token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ first_name: "Renamed", last_name: "Again" });
    expect((await rowOf(api, user.username))?.tokenVersion).toBe(before?.tokenVersion);
    expect((await put(admin.username, { first_name: "Self" }, admin.token)).status).toBe(200);
    expect((await get(admin.username, admin.token)).status).toBe(200);
  });

  it("a refused change revokes nothing", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.signedIn();
    const taken = await api.createUser();
    expect((await put(user.username, { username: taken.username }, admin.token)).status).toBe(409);
    expect((await put(user.username, { password: "short" }, admin.token)).status).toBe(400);
    expect((await put(user.username, { role: "ADMIN" }, user.token)).status).toBe(403);
    expect((await get(user.username, user.token)).status).toBe(200);
  });
});

describe("PUT /api/user/{username}: the last active ADMIN", () => {
  // Each test starts with no ADMIN at all and makes the ones it needs.
  beforeEach(() => api.db.update(users).set({ role: "USER" }).where(eq(users.role, "ADMIN")));

  it("cannot demote itself (409), and stays an ADMIN with a working token", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    await api.createUser();
    const before = await rowOf(api, admin.username);
    const res = await put(admin.username, { role: "USER" }, admin.token);
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ msg: expect.any(String), code: "CONFLICT" });
    expect(await rowOf(api, admin.username)).toEqual(before);
    expect((await get(admin.username, admin.token)).status).toBe(200);
  });

  it("cannot deactivate itself (409), not even together with another change", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const before = await rowOf(api, admin.username);
    for (const body of [{ active: false }, { active: false, first_name: "Gone" }]) {
      const res = await put(admin.username, body, admin.token);
      expect(res.status, JSON.stringify(body)).toBe(409);
      expect(await res.json()).toMatchObject({ code: "CONFLICT" });
    }
    expect(await rowOf(api, admin.username)).toEqual(before);
  });

  it("an inactive second ADMIN does not count as another active admin", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const dormant = await api.createUser({ role: "ADMIN" });
    await api.db.update(users).set({ active: false }).where(usernameIs(dormant.username));
    const res = await put(admin.username, { role: "USER" }, admin.token);
    expect(res.status).toBe(409);
    expect(await rowOf(api, admin.username)).toMatchObject({ role: "ADMIN", active: true });
  });

  it("with a second active ADMIN, an admin can demote itself", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    await api.createUser({ role: "ADMIN" });
    const res = await put(admin.username, { role: "USER" }, admin.token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ user: { role: "USER" } });
    expect(await rowOf(api, admin.username)).toMatchObject({ role: "USER" });
  });

  it("with a second active ADMIN, an admin can deactivate itself", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    await api.createUser({ role: "ADMIN" });
    const res = await put(admin.username, { active: false }, admin.token);
    expect(res.status).toBe(200);
    expect(await rowOf(api, admin.username)).toMatchObject({ active: false });
    await expectRevoked(await get(admin.username, admin.token));
  });

  // One race can be won by luck; a few rounds make a lock-order deadlock (a 500) show up.
  it.each([
    ["demoting", { role: "USER" }],
    ["deactivating", { active: false }],
  ])("two admins %s themselves at once leave exactly one active ADMIN", async (_label, change) => {
    let survivor = await api.signedIn({ role: "ADMIN" });
    for (let round = 0; round < 5; round++) {
      const rival = await api.signedIn({ role: "ADMIN" });
      const [first, second] = await Promise.all([
        put(survivor.username, change, survivor.token),
        put(rival.username, change, rival.token),
      ]);
      const statuses = [first?.status, second?.status];
      expect([...statuses].sort(), `round ${round}`).toEqual([200, 409]);
      const admins = await api.db
        .select({ username: users.username })
        .from(users)
        .where(sql`${users.role} = 'ADMIN' and ${users.active}`);
      expect(admins, `round ${round}`).toHaveLength(1);
      if (statuses[0] === 200) survivor = rival;
      expect(admins[0]?.username).toBe(survivor.username);
    }
  });
});
