import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config";
import { login, RESET_SENT, resetMailsTo, resetRowsOf, rowOf } from "../support/auth-helpers";
import { createTestApi, type NodeTestApi } from "../support/node-api";
import {
  expectRateLimited,
  expectRefreshRefused,
  LOCKED_OUT,
  loginPair,
  refresh,
  refreshPair,
} from "../support/session-helpers";

// Rules that play out over time, driven by the injected clock, and the configuration behind them.

let api: NodeTestApi;
let knobs: NodeTestApi;
let proxied: NodeTestApi;
let direct: NodeTestApi;
let mailing: NodeTestApi;
beforeAll(async () => {
  [api, knobs, proxied, direct, mailing] = await Promise.all([
    createTestApi(),
    createTestApi({
      env: {
        LOGIN_LOCKOUT_THRESHOLD: "3",
        LOGIN_LOCKOUT_BASE: "30",
        REFRESH_REUSE_GRACE: "30",
        REFRESH_TOKEN_TTL: "3600",
      },
    }),
    createTestApi({ env: { TRUST_PROXY: "1", RATE_LIMIT_LOGIN: "3/60" } }),
    createTestApi({ env: { RATE_LIMIT_LOGIN: "3/60" } }),
    createTestApi({ env: { RESET_EMAIL_INTERVAL: "60" } }),
  ]);
});
afterAll(() => Promise.all([api, knobs, proxied, direct, mailing].map((a) => a.close())));

/** One login attempt's observable outcome: status, body and Retry-After. */
async function attempt(on: NodeTestApi, username: string, password: string) {
  const res = await login(on, username, password);
  return { status: res.status, body: await res.json(), retryAfter: res.headers.get("retry-after") };
}

async function failLogins(on: NodeTestApi, username: string, count: number) {
  for (let i = 0; i < count; i++) {
    expect((await login(on, username, `wrong ${i}`)).status, `failure ${i + 1}`).toBe(401);
  }
}

/** Seconds the next attempt is told to wait (the attempt must be locked out). */
async function lockedFor(on: NodeTestApi, username: string, password: string) {
  return expectRateLimited(await login(on, username, password), LOCKED_OUT);
}

describe("the lockout grows from LOGIN_LOCKOUT_BASE, doubling, up to 15 minutes", () => {
  it("locks for exactly 60, 120, 240, 480, 900 and then still 900 seconds", async () => {
    const user = await api.createUser();
    await failLogins(api, user.username, 5);
    const waits: number[] = [];
    for (let lock = 0; lock < 6; lock++) {
      const wait = await lockedFor(api, user.username, user.password);
      waits.push(wait);
      api.clock.advance(wait);
      await failLogins(api, user.username, 1);
    }
    expect(waits).toEqual([60, 120, 240, 480, 900, 900]);
  });

  it("counts Retry-After down with the clock and lets the right password in when it ends", async () => {
    const user = await api.createUser();
    await failLogins(api, user.username, 5);
    api.clock.advance(45);
    expect(await lockedFor(api, user.username, user.password)).toBe(15);
    api.clock.advance(14);
    expect(await lockedFor(api, user.username, user.password)).toBe(1);
    api.clock.advance(1);
    expect((await login(api, user.username, user.password)).status).toBe(200);
  });

  it("a success after a lock has ended starts the count over at the threshold", async () => {
    const user = await api.createUser();
    await failLogins(api, user.username, 5);
    api.clock.advance(60);
    expect((await login(api, user.username, user.password)).status).toBe(200);
    await failLogins(api, user.username, 4);
    expect((await login(api, user.username, user.password)).status).toBe(200);
    await failLogins(api, user.username, 5);
    expect(await lockedFor(api, user.username, user.password)).toBe(60);
  });

  it("honours LOGIN_LOCKOUT_THRESHOLD=3 and LOGIN_LOCKOUT_BASE=30", async () => {
    const user = await knobs.createUser();
    await failLogins(knobs, user.username, 3);
    expect(await lockedFor(knobs, user.username, user.password)).toBe(30);
    knobs.clock.advance(30);
    await failLogins(knobs, user.username, 1);
    expect(await lockedFor(knobs, user.username, user.password)).toBe(60);
  });
});

describe("only failures less than a day apart are consecutive", () => {
  it("4 failures, a day and a second of quiet, 4 more: no lock", async () => {
    const user = await api.createUser();
    await failLogins(api, user.username, 4);
    api.clock.advance(86_400 + 1);
    await failLogins(api, user.username, 4);
    expect((await login(api, user.username, user.password)).status).toBe(200);
  });

  it("failures 23 hours apart still add up to a lock", async () => {
    const user = await api.createUser();
    await failLogins(api, user.username, 4);
    api.clock.advance(23 * 3600);
    await failLogins(api, user.username, 1);
    expect(await lockedFor(api, user.username, user.password)).toBe(60);
  });
});

describe("an unknown username goes through exactly the same lockout", () => {
  it("same statuses, bodies and Retry-After at every step, lock growth included", async () => {
    const user = await api.createUser();
    const names = [user.username, `nobody_${user.username}`];
    const steps: Record<string, unknown[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (let i = 0; i < 9; i++) {
      for (const name of names) steps[name]?.push(await attempt(api, name, `wrong ${i}`));
      // Half-way through a lock, and at its end, both must still agree.
      if (i === 6) api.clock.advance(30);
      if (i === 7) api.clock.advance(30);
    }
    expect(steps[names[1] as string]).toEqual(steps[names[0] as string]);
    const statuses = (steps[user.username] as { status: number }[]).map((s) => s.status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 401]);
  });
});

describe("refresh-token reuse after REFRESH_REUSE_GRACE, by the clock", () => {
  it("a reuse 9 s after consumption yields a pair; 11 s after, it revokes the session", async () => {
    const user = await api.createUser();
    const first = await loginPair(api, user.username, user.password);
    const rotated = await refreshPair(api, first.refresh_token);
    api.clock.advance(9);
    const reused = await refreshPair(api, first.refresh_token);
    api.clock.advance(2);

    await expectRefreshRefused(await refresh(api, first.refresh_token));
    for (const pair of [rotated, reused]) {
      await expectRefreshRefused(await refresh(api, pair.refresh_token));
      const self = await api.send(
        "GET",
        `/api/user/${user.username}`,
        undefined,
        pair.access_token,
      );
      expect(self.status).toBe(401);
    }
  });

  it("honours REFRESH_REUSE_GRACE=30", async () => {
    const user = await knobs.createUser();
    const first = await loginPair(knobs, user.username, user.password);
    await refreshPair(knobs, first.refresh_token);
    knobs.clock.advance(25);
    await refreshPair(knobs, first.refresh_token);
    knobs.clock.advance(6);
    await expectRefreshRefused(await refresh(knobs, first.refresh_token));
  });
});

describe("refresh tokens expire after REFRESH_TOKEN_TTL, by the clock", () => {
  it("works one second before 30 days and is refused at 30 days", async () => {
    const user = await api.createUser();
    const early = await loginPair(api, user.username, user.password);
    const late = await loginPair(api, user.username, user.password);
    api.clock.advance(2_592_000 - 1);
    expect((await refresh(api, early.refresh_token)).status).toBe(200);
    api.clock.advance(1);
    await expectRefreshRefused(await refresh(api, late.refresh_token));
  });

  it("outlives the access token: after 15 minutes the refresh gives a working access token", async () => {
    const user = await api.createUser();
    const pair = await loginPair(api, user.username, user.password);
    api.clock.advance(901);
    const path = `/api/user/${user.username}`;
    expect((await api.send("GET", path, undefined, pair.access_token)).status).toBe(401);
    const next = await refreshPair(api, pair.refresh_token);
    expect((await api.send("GET", path, undefined, next.access_token)).status).toBe(200);
  });

  it("honours REFRESH_TOKEN_TTL=3600", async () => {
    const user = await knobs.createUser();
    const pair = await loginPair(knobs, user.username, user.password);
    expect(pair.refresh_expires_in).toBe(3600);
    knobs.clock.advance(3600);
    await expectRefreshRefused(await refresh(knobs, pair.refresh_token));
  });
});

/** A login through a proxy that appends the client's address to X-Forwarded-For. */
const loginVia = (on: NodeTestApi, forwardedFor: string, username: string, password: string) =>
  on.request("/api/user/login", {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": forwardedFor },
    body: JSON.stringify({ username, password }),
  });

describe("per-IP limits and the client address", () => {
  it("with TRUST_PROXY=1, two clients behind the proxy have separate budgets", async () => {
    const user = await proxied.createUser();
    const [a, b] = ["198.51.100.1", "198.51.100.2"];
    for (let i = 0; i < 3; i++) {
      expect((await loginVia(proxied, a, user.username, user.password)).status).toBe(200);
    }
    await expectRateLimited(await loginVia(proxied, a, user.username, user.password));
    expect((await loginVia(proxied, b, user.username, user.password)).status).toBe(200);
  });

  it("with TRUST_PROXY=1, addresses the client wrote left of the proxy's do not buy a budget", async () => {
    const user = await proxied.createUser();
    for (let i = 0; i < 3; i++) {
      const res = await loginVia(
        proxied,
        `10.0.0.${i}, 198.51.100.3`,
        user.username,
        user.password,
      );
      expect(res.status).toBe(200);
    }
    const res = await loginVia(proxied, "10.0.0.99, 198.51.100.3", user.username, user.password);
    await expectRateLimited(res);
  });

  it("with TRUST_PROXY unset, a new X-Forwarded-For does not buy a fresh budget", async () => {
    const user = await direct.createUser();
    for (let i = 0; i < 3; i++) {
      const res = await loginVia(direct, `203.0.113.${i}`, user.username, user.password);
      expect(res.status).toBe(200);
    }
    await expectRateLimited(await loginVia(direct, "203.0.113.77", user.username, user.password));
    await expectRateLimited(await login(direct, user.username, user.password));
  });

  it("a new window restores the budget once Retry-After has passed", async () => {
    const user = await proxied.createUser();
    const client = "198.51.100.4";
    for (let i = 0; i < 3; i++) await loginVia(proxied, client, user.username, user.password);
    const wait = await expectRateLimited(
      await loginVia(proxied, client, user.username, user.password),
    );
    expect(wait).toBeLessThanOrEqual(60);
    if (wait > 1) {
      proxied.clock.advance(wait - 1);
      await expectRateLimited(await loginVia(proxied, client, user.username, user.password));
      proxied.clock.advance(1);
    } else {
      proxied.clock.advance(wait);
    }
    expect((await loginVia(proxied, client, user.username, user.password)).status).toBe(200);
  });
});

describe("RESET_EMAIL_INTERVAL=60, by the clock", () => {
  const forget = (user: { username: string; email: string }) =>
    mailing.send("POST", "/api/user/forget_password", user);

  it("sends nothing 59 s after a mail, and sends again at 60 s", async () => {
    const created = await mailing.createUser();
    const user = { username: created.username, email: created.email };
    const { id } = await rowOf(mailing, user.username);
    expect((await forget(user)).status).toBe(200);
    const first = await resetRowsOf(mailing, id);

    mailing.clock.advance(59);
    const quiet = await forget(user);
    expect(quiet.status).toBe(200);
    expect(await quiet.json()).toEqual(RESET_SENT);
    expect(await resetMailsTo(mailing, user.email)).toHaveLength(1);
    expect(await resetRowsOf(mailing, id)).toEqual(first);

    mailing.clock.advance(1);
    expect((await forget(user)).status).toBe(200);
    expect(await resetMailsTo(mailing, user.email)).toHaveLength(2);
    const [latest] = await resetRowsOf(mailing, id);
    expect(latest?.tokenHash).not.toBe(first[0]?.tokenHash);
  });
});

describe("configuration of the throttles", () => {
  const env = (vars: Record<string, string>) => ({ JWT_SECRET_KEY: "k".repeat(32), ...vars });

  it("defaults to the contract's values", () => {
    const { config } = loadConfig(env({}));
    expect(config.rateLimits).toEqual({
      LOGIN: { count: 20, seconds: 60 },
      REGISTER: { count: 10, seconds: 60 },
      FORGET_PASSWORD: { count: 5, seconds: 60 },
      RESET_PASSWORD: { count: 10, seconds: 60 },
      REFRESH: { count: 60, seconds: 60 },
      VERIFY_EMAIL: { count: 5, seconds: 60 },
      LOGIN_MFA: { count: 20, seconds: 60 },
    });
    expect(config).toMatchObject({
      emailVerifyTtl: 86_400,
      requireVerifiedEmail: false,
      refreshTokenTtl: 2_592_000,
      refreshReuseGrace: 10,
      lockout: { threshold: 5, baseSeconds: 60 },
      resetEmailInterval: 60,
      trustProxy: 0,
    });
  });

  it("reads <count>/<seconds> and off for each route", () => {
    const { config } = loadConfig(
      env({
        RATE_LIMIT_LOGIN: "3/60",
        RATE_LIMIT_REGISTER: "off",
        RATE_LIMIT_FORGET_PASSWORD: "1/3600",
        RATE_LIMIT_RESET_PASSWORD: "100/1",
        RATE_LIMIT_REFRESH: "off",
        RATE_LIMIT_VERIFY_EMAIL: "2/30",
        RATE_LIMIT_LOGIN_MFA: "7/30",
      }),
    );
    expect(config.rateLimits).toEqual({
      LOGIN: { count: 3, seconds: 60 },
      REGISTER: null,
      FORGET_PASSWORD: { count: 1, seconds: 3600 },
      RESET_PASSWORD: { count: 100, seconds: 1 },
      REFRESH: null,
      VERIFY_EMAIL: { count: 2, seconds: 30 },
      LOGIN_MFA: { count: 7, seconds: 30 },
    });
  });

  const routes = [
    "LOGIN",
    "REGISTER",
    "FORGET_PASSWORD",
    "RESET_PASSWORD",
    "REFRESH",
    "VERIFY_EMAIL",
    "LOGIN_MFA",
  ];
  const invalid = ["abc", "0/60", "3/0", "3/", "/60", "-1/60", "3 / 60", "3/60s", "1.5/60"];
  it.each(routes.flatMap((route) => invalid.map((value) => [`RATE_LIMIT_${route}`, value])))(
    "refuses %s=%j with a ConfigError naming the variable",
    (name, value) => {
      expect(() => loadConfig(env({ [name]: value }))).toThrow(ConfigError);
      expect(() => loadConfig(env({ [name]: value }))).toThrow(name);
    },
  );

  it.each([
    ["TRUST_PROXY", "yes"],
    ["LOGIN_LOCKOUT_THRESHOLD", "0"],
    ["LOGIN_LOCKOUT_BASE", "soon"],
    ["REFRESH_REUSE_GRACE", "-1"],
    ["REFRESH_TOKEN_TTL", "0"],
    ["RESET_EMAIL_INTERVAL", "a minute"],
    ["HASH_CONCURRENCY", "0"],
    ["HASH_QUEUE_TIMEOUT_MS", "-5"],
  ])("refuses %s=%j with a ConfigError naming the variable", (name, value) => {
    expect(() => loadConfig(env({ [name]: value }))).toThrow(ConfigError);
    expect(() => loadConfig(env({ [name]: value }))).toThrow(name);
  });
});
