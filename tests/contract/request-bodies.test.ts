import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  loginThrottles,
  passwordResetTokens,
  rateLimits,
  refreshTokens,
  sessions,
  users,
} from "../../src/db/schema";
import { rowOf } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";
import { loginPair } from "../support/session-helpers";

let api: ContractApi;
beforeAll(async () => {
  // Per-IP limits on (and generous), so that "nothing written" covers their counters too.
  api = await startApi({
    env: {
      EXPOSE_RESET_TOKEN: "true",
      RATE_LIMIT_LOGIN: "1000/86400",
      RATE_LIMIT_REGISTER: "1000/86400",
      RATE_LIMIT_FORGET_PASSWORD: "1000/86400",
      RATE_LIMIT_RESET_PASSWORD: "1000/86400",
      RATE_LIMIT_REFRESH: "1000/86400",
    },
  });
});
afterAll(() => api.close());

/** Every table the API writes, in a stable order. */
const snapshot = async () => ({
  users: await api.db.select().from(users).orderBy(users.id),
  throttles: await api.db.select().from(loginThrottles).orderBy(loginThrottles.key),
  limits: await api.db.select().from(rateLimits).orderBy(rateLimits.key),
  sessions: await api.db.select().from(sessions).orderBy(sessions.id),
  refresh: await api.db.select().from(refreshTokens).orderBy(refreshTokens.tokenHash),
  resets: await api.db.select().from(passwordResetTokens).orderBy(passwordResetTokens.tokenHash),
});

const INVALID_TEXT = "must be valid Unicode text without NUL characters";
/** The 400 for text that is not valid Unicode or holds a NUL, at each path. */
const invalidText = (...paths: string[]) => ({
  msg: "Invalid request.",
  code: "VALIDATION_ERROR",
  details: paths.map((path) => ({ path, message: INVALID_TEXT })),
});

let counter = 0;
const registration = (extra: Record<string, unknown> = {}) => {
  const username = `text${++counter}_${Math.random().toString(36).slice(2, 7)}`;
  return {
    username,
    first_name: "Ada",
    last_name: "Lovelace",
    email: `${username}@example.com`,
    password: "correct horse battery",
    ...extra,
  };
};

/** The requests of every body-taking route, each with `bad` in one string field. */
async function requestsWith(bad: string) {
  const admin = await api.signedIn({ role: "ADMIN" });
  const user = await api.createUser();
  const pair = await loginPair(api, user.username, user.password);
  const asUser = `/api/user/${user.username}`;
  type Case = [string, string, string, Record<string, unknown>, string?];
  const cases: Case[] = [
    ["POST", "/api/user/login", "username", { username: `a${bad}b`, password: user.password }],
    ["POST", "/api/user/login", "password", { username: user.username, password: `pw${bad}` }],
    [
      "POST",
      "/api/user/forget_password",
      "username",
      { username: `${user.username}${bad}`, email: user.email },
    ],
    [
      "POST",
      "/api/user/forget_password",
      "email",
      { username: user.username, email: `${bad}${user.email}` },
    ],
    ["POST", "/api/user/register", "first_name", registration({ first_name: `Ada${bad}` })],
    ["POST", "/api/user/register", "username", registration({ username: `x${bad}y` })],
    ["POST", "/api/user/register", "password", registration({ password: `long enough ${bad}` })],
    [
      "POST",
      "/api/user/reset_password",
      "token",
      { token: `tok${bad}en`, new_password: "a fine new password" },
    ],
    [
      "POST",
      "/api/user/refresh",
      "refresh_token",
      { refresh_token: `${pair.refresh_token}${bad}` },
    ],
    ["POST", "/api/user/logout", "refresh_token", { refresh_token: `${bad}${pair.refresh_token}` }],
    ["PUT", asUser, "last_name", { last_name: `Byron${bad}` }, admin.token],
    ["PUT", asUser, "email", { email: `${bad}@example.com` }, admin.token],
    ["PATCH", "/api/me", "last_name", { last_name: `Byron${bad}` }, admin.token],
  ];
  return cases;
}

describe("text in a body must be valid Unicode: a NUL or a lone surrogate in any field is 400", () => {
  it.each([
    ["a NUL", "\u0000"],
    ["a lone high surrogate", "\ud800"],
    ["a lone low surrogate", "\udfff"],
    ["a surrogate pair turned around", "\ude00\ud83d"],
  ])(
    "%s in any string field of any route gets 400 VALIDATION_ERROR, writing nothing",
    async (_l, bad) => {
      for (const [method, path, field, body, token] of await requestsWith(bad)) {
        const before = await snapshot();
        const res = await api.send(method, path, body, token);
        const label = `${method} ${path} ${field}`;
        expect(res.status, label).toBe(400);
        expect(await res.json(), label).toEqual(invalidText(field));
        expect(await snapshot(), label).toEqual(before);
      }
    },
  );

  it("names every bad field, nested ones and field names too", async () => {
    const before = await snapshot();
    const body = { username: "nul\u0000", password: "fine password", "x\ud800": 1, deep: [["\0"]] };
    const res = await api.send("POST", "/api/user/login", body);
    expect(res.status).toBe(400);
    const answer = (await res.json()) as ReturnType<typeof invalidText>;
    expect(answer.details.map((d) => d.path).sort()).toEqual(["deep.0.0", "username", "x\ud800"]);
    expect(answer).toEqual({ ...invalidText(), details: expect.any(Array) });
    expect(await snapshot()).toEqual(before);
  });

  it("a NUL as a bare JSON string body is 400 at (body)", async () => {
    const res = await api.send("POST", "/api/user/login", JSON.stringify("\u0000"));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(invalidText("(body)"));
  });

  it("a surrogate pair written as two escapes is one valid character and is stored", async () => {
    const body = registration({ first_name: "Ada \ud83d\ude00" });
    const res = await api.send("POST", "/api/user/register", body);
    expect(res.status).toBe(201);
    expect((await rowOf(api, body.username)).firstName).toBe("Ada 😀");
  });

  it("bytes that are not UTF-8 are 400 INVALID_JSON, never a stored U+FFFD", async () => {
    const body = registration();
    const text = JSON.stringify({ ...body, first_name: "Ada__" });
    const bytes = new TextEncoder().encode(text);
    const at = text.indexOf("Ada__") + 3;
    bytes.set([0xff, 0xc0], at);
    const before = await snapshot();
    const res = await api.request("/api/user/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: bytes,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      msg: "Request body is not valid JSON.",
      code: "INVALID_JSON",
    });
    expect(await snapshot()).toEqual(before);
  });
});

describe("a request without a body is never refused for its Content-Type", () => {
  const JSON_TYPE = { "content-type": "application/json" };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it.each([
    ["application/json", JSON_TYPE],
    ["application/json and Content-Length: 0", { ...JSON_TYPE, "content-length": "0" }],
    ["text/plain", { "content-type": "text/plain" }],
  ])("GET /api/user/{username} with %s and no body gets 200", async (_l, headers) => {
    const user = await api.signedIn();
    const res = await api.request(`/api/user/${user.username}`, {
      method: "GET",
      headers: { ...headers, ...bearer(user.token) },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ username: user.username });
  });

  it.each([
    ["application/json", JSON_TYPE],
    ["application/json and Content-Length: 0", { ...JSON_TYPE, "content-length": "0" }],
  ])("DELETE /api/user/{username} with %s and no body deletes the account", async (_l, headers) => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const res = await api.request(`/api/user/${user.username}`, {
      method: "DELETE",
      headers: { ...headers, ...bearer(admin.token) },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual({ msg: "User deleted." });
    expect(await api.userRow(user.username)).toBeUndefined();
  });

  it("a DELETE that does carry a body still needs JSON: 415 for text/plain, nothing deleted", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const res = await api.request(`/api/user/${user.username}`, {
      method: "DELETE",
      headers: { "content-type": "text/plain", ...bearer(admin.token) },
      body: "not json",
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toEqual({
      msg: "Content-Type must be application/json.",
      code: "UNSUPPORTED_MEDIA_TYPE",
    });
    expect(await api.userRow(user.username)).toBeDefined();
  });

  it.each([
    ["application/json", JSON_TYPE],
    ["no Content-Type", {}],
    ["text/plain", { "content-type": "text/plain" }],
  ])(
    "a POST that needs a body, sent without one with %s, gets 400 INVALID_JSON (not 415)",
    async (_l, headers) => {
      const before = await snapshot();
      for (const path of ["/api/user/logout", "/api/user/login", "/api/user/refresh"]) {
        const res = await api.request(path, { method: "POST", headers });
        expect(res.status, path).toBe(400);
        expect(await res.json(), path).toEqual({
          msg: "Request body is not valid JSON.",
          code: "INVALID_JSON",
        });
      }
      expect(await snapshot()).toEqual(before);
    },
  );
});
