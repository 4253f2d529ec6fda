import { expect } from "vitest";
import type { Database } from "../../src/db/database";
import { users } from "../../src/db/schema";
import { findByUsername, usernameIs } from "../../src/users/user.store";

type Request = (path: string, init?: RequestInit) => Promise<Response>;

/** Fails the test on any 5xx but the deliberate 503, whichever runtime answered. */
export function checkedResponse(path: string, res: Response) {
  if (res.status >= 500) expect(res.status, `unexpected ${res.status} for ${path}`).toBe(503);
  return res;
}

/**
 * The request helpers every test API offers, over any way of sending a request (in-process on
 * Node, HTTP to workerd) and the test file's own database.
 */
export function apiClient(request: Request, db: Database) {
  /** Sends JSON (or a raw string as-is) with an optional bearer token. */
  function send(method: string, path: string, body?: unknown, token?: string) {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (token) headers.authorization = `Bearer ${token}`;
    const payload = body === undefined || typeof body === "string" ? body : JSON.stringify(body);
    return request(path, { method, headers, body: payload as string | undefined });
  }

  let counter = 0;
  /** Registers a fresh account through the API (promoted in the database when role is ADMIN). */
  async function createUser(
    opts: { role?: "USER" | "ADMIN"; password?: string; name?: string } = {},
  ) {
    counter++;
    const username = opts.name ?? `u${counter}_${Math.random().toString(36).slice(2, 8)}`;
    const password = opts.password ?? `pw-${username}-secret`;
    const email = `${username}@example.com`;
    const res = await send("POST", "/api/user/register", {
      username,
      first_name: "Test",
      last_name: "User",
      email,
      password,
    });
    expect(res.status, await res.clone().text()).toBe(201);
    if (opts.role === "ADMIN") {
      await db.update(users).set({ role: "ADMIN" }).where(usernameIs(username));
    }
    return { username, email, password };
  }

  /** Logs in and returns the bare access token. */
  async function tokenFor(username: string, password: string) {
    const res = await send("POST", "/api/user/login", { username, password });
    expect(res.status, await res.clone().text()).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  /** A new account and a token for it. */
  async function signedIn(opts: { role?: "USER" | "ADMIN" } = {}) {
    const user = await createUser(opts);
    return { ...user, token: await tokenFor(user.username, user.password) };
  }

  /** The account's row as stored (undefined when there is none). */
  const userRow = (username: string) => findByUsername(db, username);

  return { request, send, createUser, tokenFor, signedIn, userRow };
}
