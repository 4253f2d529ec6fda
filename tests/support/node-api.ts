import { eq, sql } from "drizzle-orm";
import { expect } from "vitest";
import { createApp } from "../../src/app";
import type { PasswordHasher } from "../../src/auth/password";
import { type Config, loadConfig } from "../../src/config";
import { users } from "../../src/db/schema";
import type { Deps } from "../../src/deps";
import type { Mailer } from "../../src/mail/mailer";
import { createTestDatabase, type TestDatabase } from "./database";
import { FastHasher, RecordingMailer, TestClock } from "./fakes";

export const TEST_JWT_SECRET = "test-secret-test-secret-test-secret-0123456789";

export type TestApiOptions = {
  hasher?: PasswordHasher;
  mailer?: Mailer;
  env?: Record<string, string>;
  database?: TestDatabase;
};

/**
 * The app wired to a database of the test file's own, a hand-moved clock, a fast hasher and a
 * recording mailer unless told otherwise. Every response is checked: no 5xx but the deliberate 503.
 */
export async function createTestApi(options: TestApiOptions = {}) {
  const database = options.database ?? (await createTestDatabase());
  const clock = new TestClock();
  const mails = new RecordingMailer();
  const fastHasher = new FastHasher();
  const hasher = options.hasher ?? fastHasher;
  const pending: Promise<unknown>[] = [];
  const config: Config = loadConfig({
    NODE_ENV: "test",
    JWT_SECRET_KEY: TEST_JWT_SECRET,
    ...options.env,
  }).config;
  const deps: Deps = {
    db: database.db,
    hasher,
    mailer: options.mailer ?? mails,
    clock,
    config,
    defer: (work) => {
      pending.push(work);
    },
    ping: database.ping,
  };
  const app = createApp(() => deps);

  async function request(path: string, init?: RequestInit) {
    const res = await app.request(path, init);
    if (res.status >= 500) expect(res.status, `unexpected ${res.status} for ${path}`).toBe(503);
    return res;
  }

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
      await database.db
        .update(users)
        .set({ role: "ADMIN" })
        .where(eq(sql`lower(${users.username})`, username.toLowerCase()));
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

  async function userRow(username: string) {
    const [row] = await database.db
      .select()
      .from(users)
      .where(eq(sql`lower(${users.username})`, username.toLowerCase()));
    return row;
  }

  return {
    app,
    deps,
    db: database.db,
    database,
    clock,
    mails,
    hasher,
    fastHasher,
    request,
    send,
    createUser,
    tokenFor,
    signedIn,
    userRow,
    jwtSecret: config.jwtSecret,
    /** Waits for background work (mail) the requests started. */
    settle: () => Promise.allSettled(pending.splice(0)),
    /** Messages sent to `address` once background work has finished. */
    async mailsTo(address: string) {
      await Promise.allSettled(pending.splice(0));
      return mails.to(address);
    },
    close: () => database.drop(),
  };
}

export type NodeTestApi = Awaited<ReturnType<typeof createTestApi>>;
