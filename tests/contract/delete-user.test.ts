import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { passwordResetTokens } from "../../src/db/schema";
import { resetMailsTo, rowOf } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";

let api: ContractApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

const del = (target: string, token?: string) =>
  api.send("DELETE", `/api/user/${encodeURIComponent(target)}`, undefined, token);

const resetTokensOf = (userId: number) =>
  api.db.select().from(passwordResetTokens).where(eq(passwordResetTokens.userId, userId));

describe("DELETE /api/user/{username}", () => {
  it("a USER gets 403 for another USER, an ADMIN, itself and a missing account alike", async () => {
    const me = await api.signedIn();
    const other = await api.createUser();
    const admin = await api.createUser({ role: "ADMIN" });
    const before = await Promise.all([me, other, admin].map((u) => rowOf(api, u.username)));
    const bodies = [];
    for (const target of [other.username, admin.username, me.username, "ghost_account"]) {
      const res = await del(target, me.token);
      expect(res.status, target).toBe(403);
      bodies.push(await res.json());
    }
    expect(bodies[0]).toEqual({ msg: expect.any(String), code: "FORBIDDEN" });
    for (const body of bodies) expect(body).toEqual(bodies[0]);
    expect(await Promise.all([me, other, admin].map((u) => rowOf(api, u.username)))).toEqual(
      before,
    );
  });

  it("answers 401 with WWW-Authenticate: Bearer without a token, and deletes nothing", async () => {
    const user = await api.createUser();
    const res = await del(user.username);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await res.json()).toMatchObject({ code: "UNAUTHORIZED" });
    expect(await api.userRow(user.username)).toBeDefined();
  });

  it("an ADMIN deletes a USER: 200, and the row is gone", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const res = await del(user.username, admin.token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ msg: "User deleted." });
    expect(await api.userRow(user.username)).toBeUndefined();
  });

  it("finds the target in any letter case", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const res = await del(user.username.toUpperCase(), admin.token);
    expect(res.status).toBe(200);
    expect(await api.userRow(user.username)).toBeUndefined();
  });

  it("the deleted user's token stops working at once and its login fails", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.signedIn();
    expect((await del(user.username, admin.token)).status).toBe(200);
    const res = await api.send("GET", `/api/user/${user.username}`, undefined, user.token);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const login = await api.send("POST", "/api/user/login", {
      username: user.username,
      password: user.password,
    });
    expect(login.status).toBe(401);
  });

  it("deletes the account's reset tokens with it, and they no longer reset anything", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const bystander = await api.createUser();
    for (const u of [user, bystander]) {
      const res = await api.send("POST", "/api/user/forget_password", {
        username: u.username,
        email: u.email,
      });
      expect(res.status).toBe(200);
    }
    const userId = (await rowOf(api, user.username))?.id as number;
    const bystanderId = (await rowOf(api, bystander.username))?.id as number;
    expect(await resetTokensOf(userId)).toHaveLength(1);

    const [mail] = await resetMailsTo(api, user.email);
    const token = /token=([A-Za-z0-9_-]{43,})/.exec(mail?.text ?? "")?.[1];
    expect(token, "reset link in the mail").toBeDefined();

    expect((await del(user.username, admin.token)).status).toBe(200);
    expect(await resetTokensOf(userId)).toHaveLength(0);
    expect(await resetTokensOf(bystanderId)).toHaveLength(1);
    const reset = await api.send("POST", "/api/user/reset_password", {
      token,
      new_password: "a brand new password",
    });
    expect(reset.status).toBe(400);
    expect(await reset.json()).toMatchObject({ code: "INVALID_RESET_TOKEN" });
  });

  it("a token of a deleted account does not work for a new account of the same name", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.signedIn();
    expect((await del(user.username, admin.token)).status).toBe(200);
    const again = await api.createUser({ name: user.username, password: "a different secret" });
    expect(again.username).toBe(user.username);
    const res = await api.send("GET", `/api/user/${user.username}`, undefined, user.token);
    expect(res.status).toBe(401);
  });

  it("an ADMIN deleting itself gets 403 in any letter case, and nothing is deleted", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const before = await rowOf(api, admin.username);
    for (const target of [admin.username, admin.username.toUpperCase()]) {
      const res = await del(target, admin.token);
      expect(res.status, target).toBe(403);
      expect(await res.json()).toEqual({ msg: expect.any(String), code: "FORBIDDEN" });
    }
    expect(await rowOf(api, admin.username)).toEqual(before);
    const stillWorks = await api.send("GET", `/api/user/${admin.username}`, undefined, admin.token);
    expect(stillWorks.status).toBe(200);
  });

  it("an ADMIN deleting another ADMIN gets 403, and nothing is deleted", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const other = await api.signedIn({ role: "ADMIN" });
    const before = await rowOf(api, other.username);
    const res = await del(other.username, admin.token);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: "FORBIDDEN" });
    expect(await rowOf(api, other.username)).toEqual(before);
    const stillWorks = await api.send("GET", `/api/user/${other.username}`, undefined, other.token);
    expect(stillWorks.status).toBe(200);
  });

  it("an ADMIN gets 404 NOT_FOUND for a missing account", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const res = await del("no_such_account", admin.token);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ msg: expect.any(String), code: "NOT_FOUND" });
  });

  it("deleting the same account twice gives 200 and then 404", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    expect((await del(user.username, admin.token)).status).toBe(200);
    const again = await del(user.username, admin.token);
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ code: "NOT_FOUND" });
  });

  it("of concurrent deletes of one account exactly one succeeds and the rest get 404", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => del(user.username, admin.token)),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 404, 404, 404, 404]);
    expect(await api.userRow(user.username)).toBeUndefined();
  });

  it("a DELETE carrying a non-JSON body gets 415 and deletes nothing", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const res = await api.request(`/api/user/${user.username}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${admin.token}`, "content-type": "text/plain" },
      body: "whatever",
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE" });
    expect(await api.userRow(user.username)).toBeDefined();
  });
});
