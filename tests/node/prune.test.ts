import { sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { selectRows } from "../../src/db/database";
import { pruneStaleRows } from "../../src/prune";
import {
  claimsOf,
  INVALID_RESET_TOKEN,
  login,
  RESET_SENT,
  requestResetToken,
  resetMailsTo,
  resetPassword,
} from "../support/auth-helpers";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { createTestApi, type NodeTestApi } from "../support/node-api";
import {
  expectRateLimited,
  expectRefreshRefused,
  LOCKED_OUT,
  LOGGED_OUT,
  loginPair,
  logout,
  refresh,
  refreshPair,
  refreshRowOf,
  sessionRowOf,
} from "../support/session-helpers";

// Data lifecycle, driven by the injected clock: the prune deletes exactly the rows that can no
// longer matter, and every rule that reads them answers as before. The tests share a database
// whose pruned tables are emptied after each, so the prune's counts are one test's alone.

const GRACE = 300;
const DAY = 86_400;

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterEach(() =>
  database.db.execute(
    sql`truncate sessions, refresh_tokens, password_reset_tokens, login_throttles, rate_limits`,
  ),
);
afterAll(() => database.drop());

/** An API of the test's own (its clock, its settings) on the shared database. */
const freshApi = (env: Record<string, string> = {}) => createTestApi({ env, database });

const NONE = {
  refreshTokens: 0,
  sessions: 0,
  resetTokens: 0,
  loginThrottles: 0,
  rateLimits: 0,
  mfaChallenges: 0,
};
const prune = (api: NodeTestApi) => pruneStaleRows(api.deps);

/** Rows per table, by the tables' SQL names. */
async function rowCounts(api: NodeTestApi) {
  const [row] = await selectRows<Record<string, number>>(
    api.db,
    sql`select (select count(*)::int from sessions) as sessions,
      (select count(*)::int from refresh_tokens) as refresh_tokens,
      (select count(*)::int from password_reset_tokens) as password_reset_tokens,
      (select count(*)::int from login_throttles) as login_throttles,
      (select count(*)::int from rate_limits) as rate_limits`,
  );
  return row;
}

const get = (api: NodeTestApi, username: string, accessToken: string) =>
  api.send("GET", `/api/user/${username}`, undefined, accessToken);

describe("sessions and refresh tokens", () => {
  it("ended sessions go with their tokens; a live one stays whole, and reuse of its consumed token still revokes it", async () => {
    const api = await freshApi({ EXPOSE_RESET_TOKEN: "true" });
    const live = await api.createUser();
    const loggedOut = await api.createUser();
    const reset = await api.createUser();
    const stolen = await api.createUser();

    // live: a login and three rotations (three consumed tokens, one current).
    const consumed: string[] = [];
    let current = await loginPair(api, live.username, live.password);
    for (let i = 0; i < 3; i++) {
      consumed.push(current.refresh_token);
      current = await refreshPair(api, current.refresh_token);
    }
    // loggedOut: a rotation, then logout (revoked_at).
    const out = await refreshPair(
      api,
      (await loginPair(api, loggedOut.username, loggedOut.password)).refresh_token,
    );
    expect(await (await logout(api, { refresh_token: out.refresh_token })).json()).toEqual(
      LOGGED_OUT,
    );
    // reset: a password reset bumps the token version; the session row itself is untouched.
    const resetPair = await loginPair(api, reset.username, reset.password);
    const resetToken = await requestResetToken(api, reset);
    expect((await resetPassword(api, resetToken, "a brand new secret")).status).toBe(200);
    // stolen: a rotation, then reuse of the first token after the grace revokes the session.
    const stolenFirst = await loginPair(api, stolen.username, stolen.password);
    const stolenNext = await refreshPair(api, stolenFirst.refresh_token);
    api.clock.advance(11);
    await expectRefreshRefused(await refresh(api, stolenFirst.refresh_token));

    api.clock.advance(GRACE + 1);
    expect(await prune(api)).toEqual({ ...NONE, refreshTokens: 2 + 1 + 2, sessions: 3 });

    expect(await rowCounts(api)).toMatchObject({ sessions: 1, refresh_tokens: 4 });
    const liveSession = claimsOf(current.access_token).sid as string;
    expect(await sessionRowOf(api, liveSession)).toMatchObject({ revokedAt: null });
    for (const token of [...consumed, current.refresh_token]) {
      expect(await refreshRowOf(api, token)).toMatchObject({ sessionId: liveSession });
    }
    for (const pair of [out, resetPair, stolenNext]) {
      expect(await sessionRowOf(api, claimsOf(pair.access_token).sid as string)).toBeUndefined();
      expect(await refreshRowOf(api, pair.refresh_token)).toBeUndefined();
      // The same answers an ended session got before its rows went.
      await expectRefreshRefused(await refresh(api, pair.refresh_token));
      expect(await (await logout(api, { refresh_token: pair.refresh_token })).json()).toEqual(
        LOGGED_OUT,
      );
    }
    expect((await get(api, loggedOut.username, out.access_token)).status).toBe(401);

    // The live session still refreshes, and a token it consumed 5 minutes ago is still theft.
    const next = await refreshPair(api, current.refresh_token);
    expect((await get(api, live.username, next.access_token)).status).toBe(200);
    await expectRefreshRefused(await refresh(api, consumed[2] as string));
    await expectRefreshRefused(await refresh(api, next.refresh_token));
    expect((await get(api, live.username, next.access_token)).status).toBe(401);
  });

  it("consumed tokens of a live session go once expired; its newer tokens stay and it still refreshes", async () => {
    const api = await freshApi({ REFRESH_TOKEN_TTL: "3600" });
    const user = await api.createUser();
    const tokens: string[] = [];
    let pair = await loginPair(api, user.username, user.password);
    for (let i = 0; i < 4; i++) {
      tokens.push(pair.refresh_token);
      api.clock.advance(1000);
      pair = await refreshPair(api, pair.refresh_token);
    }
    tokens.push(pair.refresh_token);
    // Made at 0, 1000, 2000, 3000 and 4000 s; at 4400 s only the first expired more than 300 s ago.
    api.clock.advance(400);
    expect(await prune(api)).toEqual({ ...NONE, refreshTokens: 1 });
    expect(await refreshRowOf(api, tokens[0] as string)).toBeUndefined();
    for (const token of tokens.slice(1)) expect(await refreshRowOf(api, token)).toBeDefined();
    expect(
      (await get(api, user.username, (await refreshPair(api, pair.refresh_token)).access_token))
        .status,
    ).toBe(200);
  });

  it("a session whose refresh tokens all expired goes once its last access token cannot be valid", async () => {
    // An access token that outlives the refresh token keeps the session.
    const api = await freshApi({ ACCESS_TOKEN_TTL: "7200", REFRESH_TOKEN_TTL: "3600" });
    const user = await api.createUser();
    const pair = await loginPair(api, user.username, user.password);
    api.clock.advance(3600 + GRACE + 1);
    expect(await prune(api)).toEqual(NONE);
    expect((await get(api, user.username, pair.access_token)).status).toBe(200);
    await expectRefreshRefused(await refresh(api, pair.refresh_token));
    api.clock.advance(3600);
    expect(await prune(api)).toEqual({ ...NONE, refreshTokens: 1, sessions: 1 });
    expect(await rowCounts(api)).toMatchObject({ sessions: 0, refresh_tokens: 0 });
  });

  it("with the default lifetimes an unused session goes 30 days and 5 minutes after its login", async () => {
    const api = await freshApi();
    const user = await api.createUser();
    await loginPair(api, user.username, user.password);
    api.clock.advance(30 * DAY + GRACE);
    expect(await prune(api)).toEqual(NONE);
    api.clock.advance(1);
    expect(await prune(api)).toEqual({ ...NONE, refreshTokens: 1, sessions: 1 });
  });
});

describe("reset tokens", () => {
  it("an expired token goes; an unexpired one stays and still resets the password", async () => {
    const api = await freshApi({ EXPOSE_RESET_TOKEN: "true" });
    const [early, late] = [await api.createUser(), await api.createUser()];
    const earlyToken = await requestResetToken(api, early);
    api.clock.advance(2000);
    const lateToken = await requestResetToken(api, late);
    api.clock.advance(200);
    expect(await prune(api)).toEqual({ ...NONE, resetTokens: 1 });
    expect(await rowCounts(api)).toMatchObject({ password_reset_tokens: 1 });
    expect((await resetPassword(api, lateToken, "a brand new secret")).status).toBe(200);
    const refused = await resetPassword(api, earlyToken, "a brand new secret");
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual(INVALID_RESET_TOKEN);
  });

  it("an expired token stays while it still dates the last mail (RESET_EMAIL_INTERVAL)", async () => {
    const api = await freshApi({ RESET_EMAIL_INTERVAL: "3600", RESET_TOKEN_TTL: "1800" });
    const user = await api.createUser();
    const ask = () =>
      api.send("POST", "/api/user/forget_password", { username: user.username, email: user.email });
    expect(await (await ask()).json()).toEqual(RESET_SENT);
    api.clock.advance(1800 + GRACE + 1);
    expect(await prune(api)).toEqual(NONE);
    expect(await (await ask()).json()).toEqual(RESET_SENT);
    expect(await resetMailsTo(api, user.email)).toHaveLength(1);
    api.clock.advance(3600 - 1800);
    expect(await prune(api)).toEqual({ ...NONE, resetTokens: 1 });
    await ask();
    expect(await resetMailsTo(api, user.email)).toHaveLength(2);
  });
});

describe("login throttles", () => {
  async function failLogins(api: NodeTestApi, username: string, count: number) {
    for (let i = 0; i < count; i++)
      expect((await login(api, username, `wrong ${i}`)).status).toBe(401);
  }

  it("a name's row goes a day after its last failure; an active lock and a running count stay", async () => {
    const api = await freshApi();
    const [old, locked, counting] = [
      await api.createUser(),
      await api.createUser(),
      await api.createUser(),
    ];
    await failLogins(api, old.username, 4);
    api.clock.advance(DAY + GRACE + 1);
    await failLogins(api, locked.username, 5);
    await failLogins(api, counting.username, 4);
    expect(await prune(api)).toEqual({ ...NONE, loginThrottles: 1 });
    expect(await rowCounts(api)).toMatchObject({ login_throttles: 2 });

    expect(
      await expectRateLimited(await login(api, locked.username, locked.password), LOCKED_OUT),
    ).toBe(60);
    await failLogins(api, counting.username, 1);
    expect(
      await expectRateLimited(await login(api, counting.username, counting.password), LOCKED_OUT),
    ).toBe(60);
    // Four failures a day ago count for nothing, with or without their row.
    await failLogins(api, old.username, 4);
    expect((await login(api, old.username, old.password)).status).toBe(200);
  });

  it("a lock that ended stays counted until the failures are a day old", async () => {
    const api = await freshApi();
    const user = await api.createUser();
    await failLogins(api, user.username, 5);
    api.clock.advance(60 + GRACE + 1);
    expect(await prune(api)).toEqual(NONE);
    await failLogins(api, user.username, 1);
    expect(
      await expectRateLimited(await login(api, user.username, user.password), LOCKED_OUT),
    ).toBe(120);
  });

  it("a name that was locked goes too, once its failures are a day old and its lock long over", async () => {
    const api = await freshApi();
    const user = await api.createUser();
    await failLogins(api, user.username, 5);
    expect(await rowCounts(api)).toMatchObject({ login_throttles: 1 });
    api.clock.advance(DAY + GRACE + 1);
    expect(await prune(api)).toEqual({ ...NONE, loginThrottles: 1 });
    expect(await rowCounts(api)).toMatchObject({ login_throttles: 0 });
    // As if the name had never failed: the right password is let in, five new failures lock it.
    expect((await login(api, user.username, user.password)).status).toBe(200);
    await failLogins(api, user.username, 5);
    expect(
      await expectRateLimited(await login(api, user.username, user.password), LOCKED_OUT),
    ).toBe(60);
  });
});

describe("rate-limit counters", () => {
  const loginFrom = (api: NodeTestApi, ip: string) =>
    api.request("/api/user/login", {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": ip },
      body: JSON.stringify({ username: "nobody", password: "not a password" }),
    });

  it("a counter goes once the longest window has ended; the current window still limits", async () => {
    const api = await freshApi({
      TRUST_PROXY: "1",
      RATE_LIMIT_LOGIN: "3/60",
      RATE_LIMIT_REFRESH: "60/600",
    });
    expect((await loginFrom(api, "198.51.100.1")).status).toBe(401);
    // A window that ended, though not the longest one ago: the row cannot tell its window.
    api.clock.advance(300);
    expect((await loginFrom(api, "198.51.100.2")).status).toBe(401);
    api.clock.advance(600 + GRACE + 1 - 300);
    for (let i = 0; i < 3; i++) expect((await loginFrom(api, "198.51.100.3")).status).toBe(401);
    expect(await prune(api)).toEqual({ ...NONE, rateLimits: 1 });
    expect(await rowCounts(api)).toMatchObject({ rate_limits: 2 });
    await expectRateLimited(await loginFrom(api, "198.51.100.3"));
  });

  it("a backlog larger than a batch goes whole, in batches", async () => {
    const api = await freshApi();
    await api.db.execute(sql`insert into rate_limits (key, window_start, count)
      select 'LOGIN:10.0.' || g, '2020-01-01T00:00:00Z', 1 from generate_series(1, 2500) g`);
    await api.db.execute(
      sql`insert into rate_limits values ('LOGIN:live', ${api.clock.now().toISOString()}::timestamptz, 1)`,
    );
    expect(await prune(api)).toEqual({ ...NONE, rateLimits: 2500 });
    expect(await rowCounts(api)).toMatchObject({ rate_limits: 1 });
  });
});

describe("the tables stay bounded", () => {
  it("half-daily activity with a prune after each leaves the same rows every time", async () => {
    const api = await freshApi({
      EXPOSE_RESET_TOKEN: "true",
      REFRESH_TOKEN_TTL: String(DAY),
      TRUST_PROXY: "1",
      RATE_LIMIT_LOGIN: "1000/60",
    });
    const loginVia = (ip: string, username: string, password: string) =>
      api.request("/api/user/login", {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": ip },
        body: JSON.stringify({ username, password }),
      });
    for (let cycle = 0; cycle < 6; cycle++) {
      for (let i = 0; i < 4; i++) {
        const user = await api.createUser();
        const res = await loginVia(`203.0.113.${cycle * 10 + i}`, user.username, user.password);
        expect(res.status).toBe(200);
        const first = (await res.json()) as { refresh_token: string };
        const last = await refreshPair(
          api,
          (await refreshPair(api, first.refresh_token)).refresh_token,
        );
        if (i % 2 === 0) await logout(api, { refresh_token: last.refresh_token });
        if (i === 0) await requestResetToken(api, user);
        expect((await loginVia("203.0.113.250", `nobody_${cycle}_${i}`, "wrong")).status).toBe(401);
      }
      api.clock.advance(DAY / 2 + 400);
      // This cycle's rows, and the live sessions and failed names the last prune kept.
      const kept = cycle === 0 ? 0 : 1;
      expect(await rowCounts(api)).toEqual({
        sessions: 4 + 2 * kept,
        refresh_tokens: 12 + 6 * kept,
        password_reset_tokens: 1,
        login_throttles: 4 + 4 * kept,
        rate_limits: 5,
      });
      await prune(api);
      // Left: this cycle's live sessions (3 tokens each) and failed names, every cycle alike.
      expect(await rowCounts(api)).toEqual({
        sessions: 2,
        refresh_tokens: 6,
        password_reset_tokens: 0,
        login_throttles: 4,
        rate_limits: 0,
      });
    }
  });
});
