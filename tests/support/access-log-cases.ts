import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import type { Database } from "../../src/db/database";
import { internalError } from "../../src/errors";
import { findByUsername } from "../../src/users/user.store";
import { base32Bytes, codeAt, wrongCode } from "./mfa-helpers";

/** A running API over HTTP, its database, and everything it logged so far, as text. */
export type LoggedApi = { url: URL; db: Database; logText(): string };

type Line = Record<string, unknown>;

const ACCESS_KEYS = [
  "duration_ms",
  "level",
  "method",
  "msg",
  "request_id",
  "route",
  "status",
  "time",
];
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const jsonLines = (text: string): Line[] =>
  text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Line);

/** The lines logged for `requestId`, once `count` of them are there (logs trail the responses). */
export async function linesFor(api: LoggedApi, requestId: string, count: number) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const lines = jsonLines(api.logText()).filter((l) => l.request_id === requestId);
    if (lines.length >= count || Date.now() > deadline) return lines;
    await sleep(25);
  }
}

/**
 * The access-log and error-log rules, for any runtime: `api()` is the running API, started with
 * ACCESS_LOG=on.
 */
export function accessLogCases(api: () => LoggedApi) {
  const send = (requestId: string, method: string, path: string, body?: unknown, token?: string) =>
    fetch(new URL(path, api().url), {
      method,
      headers: {
        "x-request-id": requestId,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it("writes one JSON line per request with its id, method, route pattern, status and duration, and never a secret", async () => {
    const tag = Math.random().toString(36).slice(2, 8);
    const username = `alog_${tag}`;
    const password = `secret passphrase ${tag}`;
    const account = {
      username,
      first_name: "Log",
      last_name: "Test",
      email: `${username}@example.com`,
      password,
    };
    const register = await send(`reg-${tag}`, "POST", "/api/user/register", account);
    expect(register.status).toBe(201);
    const login = await send(`login-${tag}`, "POST", "/api/user/login", { username, password });
    expect(login.status).toBe(200);
    const tokens = (await login.json()) as { access_token: string; refresh_token: string };
    const querySecret = `query-secret-${tag}`;
    const read = await send(
      `read-${tag}`,
      "GET",
      `/api/user/${username}?token=${querySecret}`,
      undefined,
      tokens.access_token,
    );
    expect(read.status).toBe(200);
    const refresh = await send(`refresh-${tag}`, "POST", "/api/user/refresh", {
      refresh_token: tokens.refresh_token,
    });
    expect(refresh.status).toBe(200);
    const missing = await send(`missing-${tag}`, "GET", `/no/such/${username}`);
    expect(missing.status).toBe(404);

    const expected = [
      [`reg-${tag}`, "POST", "/api/user/register", 201],
      [`login-${tag}`, "POST", "/api/user/login", 200],
      [`read-${tag}`, "GET", "/api/user/:username", 200],
      [`refresh-${tag}`, "POST", "/api/user/refresh", 200],
      // No route matched: no pattern, and never the path that was asked for.
      [`missing-${tag}`, "GET", null, 404],
    ] as const;
    for (const [requestId, method, route, status] of expected) {
      const lines = await linesFor(api(), requestId, 1);
      expect(lines).toEqual([
        {
          time: expect.stringMatching(ISO_TIME),
          level: "info",
          msg: "request",
          request_id: requestId,
          method,
          route,
          status,
          duration_ms: expect.any(Number),
        },
      ]);
      expect(Object.keys(lines[0] as Line).sort()).toEqual(ACCESS_KEYS);
      expect(lines[0]?.duration_ms).toBeGreaterThanOrEqual(0);
    }
    const text = api().logText();
    for (const secret of [
      password,
      tokens.access_token,
      tokens.refresh_token,
      querySecret,
      username,
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it("never logs a second factor's secret, codes, backup codes or mfa_token", async () => {
    const tag = Math.random().toString(36).slice(2, 8);
    const username = `mlog_${tag}`;
    const password = `secret passphrase ${tag}`;
    const account = {
      username,
      first_name: "Log",
      last_name: "Mfa",
      email: `${username}@example.com`,
      password,
    };
    expect((await send(`mreg-${tag}`, "POST", "/api/user/register", account)).status).toBe(201);
    const login = await send(`mlogin-${tag}`, "POST", "/api/user/login", { username, password });
    const { access_token } = (await login.json()) as { access_token: string };
    const started = await send(
      `menroll-${tag}`,
      "POST",
      "/api/me/mfa/totp",
      { password },
      access_token,
    );
    const { secret } = (await started.json()) as { secret: string };
    const now = () => new Date();
    const firstCode = codeAt({ now }, secret);
    const confirmed = await send(
      `mconfirm-${tag}`,
      "POST",
      "/api/me/mfa/totp/confirm",
      { code: firstCode },
      access_token,
    );
    expect(confirmed.status, await confirmed.clone().text()).toBe(200);
    const { backup_codes } = (await confirmed.json()) as { backup_codes: string[] };
    const step = await send(`mstep-${tag}`, "POST", "/api/user/login", { username, password });
    const { mfa_token } = (await step.json()) as { mfa_token: string };
    const wrong = wrongCode({ now }, secret);
    expect(
      (await send(`mwrong-${tag}`, "POST", "/api/user/login/mfa", { mfa_token, code: wrong }))
        .status,
    ).toBe(401);
    const done = await send(`mdone-${tag}`, "POST", "/api/user/login/mfa", {
      mfa_token,
      backup_code: backup_codes[0],
    });
    expect(done.status).toBe(200);
    await linesFor(api(), `mdone-${tag}`, 1);
    const bytes = base32Bytes(secret);
    const text = api().logText();
    for (const value of [
      secret,
      bytes.toString("hex"),
      bytes.toString("base64url"),
      firstCode,
      wrong,
      mfa_token,
      ...backup_codes,
    ]) {
      expect(text).not.toContain(value);
    }
  });

  it("logs an unexpected error once, with its request id, and without the query or its parameters", async () => {
    const tag = Math.random().toString(36).slice(2, 8);
    // A rule the app does not expect: the insert fails with an error it has no answer for.
    await api().db.execute(
      sql.raw(`ALTER TABLE users ADD CONSTRAINT trap_${tag} CHECK (first_name <> 'Trap${tag}')`),
    );
    const username = `trap_${tag}`;
    const password = `trapped passphrase ${tag}`;
    const res = await send(`trap-${tag}`, "POST", "/api/user/register", {
      username,
      first_name: `Trap${tag}`,
      last_name: "Test",
      email: `${username}@example.com`,
      password,
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual(internalError().body);
    expect(res.headers.get("x-request-id")).toBe(`trap-${tag}`);
    expect(await findByUsername(api().db, username)).toBeUndefined();

    const lines = await linesFor(api(), `trap-${tag}`, 2);
    const errors = lines.filter((l) => l.level === "error");
    expect(errors).toEqual([
      expect.objectContaining({
        msg: "unexpected error",
        request_id: `trap-${tag}`,
        error: "PostgresError",
        code: "23514",
        time: expect.stringMatching(ISO_TIME),
      }),
    ]);
    expect(lines.filter((l) => l.msg === "request")).toEqual([
      expect.objectContaining({ route: "/api/user/register", status: 500 }),
    ]);
    const text = api().logText();
    for (const secret of [
      password,
      "$argon2id$",
      "params",
      "insert into",
      `${username}@example.com`,
    ]) {
      expect(text).not.toContain(secret);
    }
  });
}
