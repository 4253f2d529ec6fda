import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import { login, requestResetToken, resetPassword } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";
import { loginPair, logout, refresh } from "../support/session-helpers";

const ORIGIN = "https://app.example";

let api: ContractApi;
let withCors: ContractApi;
beforeAll(async () => {
  [api, withCors] = await Promise.all([
    startApi({ env: { EXPOSE_RESET_TOKEN: "true" } }),
    startApi({ env: { CORS_ORIGINS: ORIGIN } }),
  ]);
});
afterAll(() => Promise.all([api.close(), withCors.close()]));

const allUsers = () => api.db.select().from(users).orderBy(users.id);

describe("responses that can carry a token or account data have Cache-Control: no-store", () => {
  /** Asserts the status and the header; returns the response for further checks. */
  const expectNoStore = (res: Response, status: number, label: string) => {
    expect(res.status, label).toBe(status);
    expect(res.headers.get("cache-control"), label).toBe("no-store");
    return res;
  };

  it("register, login, refresh, logout, forget_password (with its token) and reset_password", async () => {
    const username = `nostore_${Math.random().toString(36).slice(2, 8)}`;
    const account = { username, email: `${username}@example.com` };
    const register = await api.send("POST", "/api/user/register", {
      ...account,
      first_name: "No",
      last_name: "Store",
      password: "a cacheless password",
    });
    expectNoStore(register, 201, "register");
    expectNoStore(await login(api, username, "a cacheless password"), 200, "login");
    const pair = await loginPair(api, username, "a cacheless password");
    const rotated = expectNoStore(await refresh(api, pair.refresh_token), 200, "refresh");
    const { refresh_token } = (await rotated.json()) as { refresh_token: string };
    expectNoStore(await logout(api, { refresh_token }), 200, "logout");

    const forget = await api.send("POST", "/api/user/forget_password", account);
    expectNoStore(forget, 200, "forget_password");
    expect(await forget.json()).toMatchObject({ token: expect.any(String) });
    const token = await requestResetToken(api, account);
    expectNoStore(await resetPassword(api, token, "another cacheless one"), 200, "reset");
  });

  it("GET, PUT and DELETE /api/user/{username}", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const path = `/api/user/${user.username}`;
    expectNoStore(await api.send("GET", path, undefined, admin.token), 200, "GET");
    expectNoStore(await api.send("PUT", path, { last_name: "Changed" }, admin.token), 200, "PUT");
    expectNoStore(await api.send("DELETE", path, undefined, admin.token), 200, "DELETE");
  });

  it("GET /api/users, GET and PATCH /api/me, and their refusals", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.signedIn();
    expectNoStore(await api.send("GET", "/api/users", undefined, admin.token), 200, "list");
    expectNoStore(await api.send("GET", "/api/users?limit=0", undefined, admin.token), 400, "400");
    expectNoStore(await api.send("GET", "/api/users", undefined, user.token), 403, "403");
    expectNoStore(await api.send("GET", "/api/me", undefined, user.token), 200, "GET me");
    expectNoStore(
      await api.send("PATCH", "/api/me", { last_name: "Kept" }, user.token),
      200,
      "PATCH",
    );
    expectNoStore(
      await api.send("PATCH", "/api/me", { role: "ADMIN" }, user.token),
      400,
      "PATCH 400",
    );
  });

  it("POST /api/me/password, DELETE /api/me and GET /api/audit", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.signedIn();
    const change = { current_password: user.password, new_password: "another long passphrase" };
    expectNoStore(await api.send("POST", "/api/me/password", change, user.token), 200, "change");
    const wrong = { current_password: "not the password", new_password: "x long passphrase" };
    expectNoStore(await api.send("POST", "/api/me/password", wrong, admin.token), 401, "401");
    expectNoStore(await api.send("GET", "/api/audit", undefined, admin.token), 200, "audit");
    expectNoStore(await api.send("GET", "/api/audit", undefined, user.token), 401, "audit 401");
    const other = await api.signedIn();
    expectNoStore(await api.send("GET", "/api/audit", undefined, other.token), 403, "audit 403");
    const deleted = { password: other.password };
    expectNoStore(await api.send("DELETE", "/api/me", deleted, other.token), 200, "delete");
  });

  it("every /api error too: 400, 401, 403, 404, 405 and 429", async () => {
    const user = await api.signedIn();
    const cases: [number, Promise<Response>][] = [
      [400, api.send("POST", "/api/user/login", { username: "x" })],
      [401, api.send("GET", `/api/user/${user.username}`)],
      [403, api.send("GET", "/api/user/someone_else", undefined, user.token)],
      [404, api.send("GET", "/api/nothing_here")],
      [405, api.send("PUT", "/api/user/login", { username: "x" })],
    ];
    for (const [status, res] of cases) expectNoStore(await res, status, String(status));
    for (let i = 0; i < 5; i++) await login(api, user.username, "wrong password");
    expectNoStore(await login(api, user.username, user.password), 429, "lockout");
  });
});

describe("a wrong method on a known path gets 405 with Allow", () => {
  const METHOD_NOT_ALLOWED = { msg: "Method not allowed.", code: "METHOD_NOT_ALLOWED" };
  const ACCOUNT_METHODS = "GET, HEAD, PUT, DELETE";

  it.each([
    ["PUT", "/api/user/login", "POST"],
    ["GET", "/api/user/login", "POST"],
    ["HEAD", "/api/user/login", "POST"],
    ["DELETE", "/api/user/register", "POST"],
    ["PUT", "/api/user/forget_password", "POST"],
    ["GET", "/api/user/reset_password", "POST"],
    ["DELETE", "/api/user/refresh", "POST"],
    ["PATCH", "/api/user/logout", "POST"],
    ["POST", "/api/user/{username}", ACCOUNT_METHODS],
    ["PATCH", "/api/user/{username}", ACCOUNT_METHODS],
    ["POST", "/api/users", "GET, HEAD"],
    ["DELETE", "/api/users", "GET, HEAD"],
    ["PUT", "/api/me", "GET, HEAD, PATCH, DELETE"],
    ["GET", "/api/me/password", "POST"],
    ["POST", "/api/audit", "GET, HEAD"],
    ["POST", "/health", "GET, HEAD"],
    ["DELETE", "/openapi.json", "GET, HEAD"],
  ])(
    "%s %s: 405, Allow: %s, even with an admin's token and a body, changing nothing",
    async (method, template, allow) => {
      const admin = await api.signedIn({ role: "ADMIN" });
      const user = await api.createUser();
      const path = template.replace("{username}", user.username);
      const before = await allUsers();
      const body = method === "GET" || method === "HEAD" ? undefined : { first_name: "Changed" };
      const res = await api.send(method, path, body, admin.token);
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe(allow);
      if (method !== "HEAD") expect(await res.json()).toEqual(METHOD_NOT_ALLOWED);
      expect(await allUsers()).toEqual(before);
    },
  );

  it("Allow lists exactly the methods /openapi.json documents for each path (and HEAD with GET)", async () => {
    const doc = (await (await api.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const all = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    for (const [template, operations] of Object.entries(doc.paths)) {
      const path = template.replace(/\{[^}]+\}/g, "someone");
      const documented = Object.keys(operations).map((m) => m.toUpperCase());
      const expected = documented.includes("GET") ? [...documented, "HEAD"] : documented;
      for (const method of all.filter((m) => !documented.includes(m))) {
        const res = await api.send(method, path, method === "GET" ? undefined : {});
        expect(res.status, `${method} ${template}`).toBe(405);
        const allowed = res.headers.get("allow")?.split(", ") ?? [];
        expect(allowed.sort(), `${method} ${template}`).toEqual(expected.sort());
      }
    }
  });

  it.each([
    ["PUT", "/api/nope"],
    ["DELETE", "/api/user/someone/extra"],
    ["POST", "/nope"],
    ["GET", "/api/user/login/extra"],
  ])("an unknown path stays 404 whatever the method: %s %s", async (method, path) => {
    const res = await api.send(method, path, method === "GET" ? undefined : {});
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ msg: "Not found.", code: "NOT_FOUND" });
  });

  it("HEAD on a GET route is no wrong method", async () => {
    const res = await api.request("/health", { method: "HEAD" });
    expect(res.status).toBe(200);
  });

  it("without CORS_ORIGINS, OPTIONS is a wrong method too: 405 with Allow", async () => {
    const res = await api.request("/api/user/login", { method: "OPTIONS" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
  });

  it("with CORS_ORIGINS, a preflight still gets 204 from the CORS rules, and a 405 carries them", async () => {
    for (const path of ["/api/user/login", "/api/user/someone"]) {
      const preflight = await withCors.request(path, {
        method: "OPTIONS",
        headers: {
          origin: ORIGIN,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      });
      expect(preflight.status, path).toBe(204);
      expect(preflight.headers.get("access-control-allow-origin"), path).toBe(ORIGIN);
      expect(preflight.headers.get("access-control-allow-methods"), path).toContain("POST");
    }
    const wrong = await withCors.request("/api/user/login", {
      method: "PUT",
      headers: { origin: ORIGIN, "content-type": "application/json" },
      body: "{}",
    });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(await wrong.json()).toEqual(METHOD_NOT_ALLOWED);
  });
});
