import { and, asc, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, refreshTokens, sessions } from "../../src/db/schema";
import { claimsOf, expectUnauthorized, getSelf, rowOf } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";
import {
  ageConsumption,
  expectRefreshRefused,
  expireRefreshToken,
  LOGGED_OUT,
  logout,
  refresh,
  refreshPair,
  sessionRowOf,
  sessionsOfUser,
  type TokenPair,
} from "../support/session-helpers";

// GET /api/me/sessions and DELETE /api/me/sessions/{id}: the caller's live sessions, and ending
// one of them by its id. The client address comes from X-Forwarded-For (TRUST_PROXY=1) on Node and
// CF-Connecting-IP on Workers; both headers are sent, so each login can come from its own address.
let api: ContractApi;
beforeAll(async () => {
  api = await startApi({ env: { TRUST_PROXY: "1" } });
});
afterAll(() => api.close());

const SESSION_NOT_FOUND = { msg: "Session not found.", code: "NOT_FOUND" };
const SESSION_KEYS = ["created_at", "current", "id", "ip", "last_used_at", "user_agent"];

type Source = { ip: string; userAgent: string };
const PHONE: Source = { ip: "198.51.100.7", userAgent: "Phone/1.0 (sessions test)" };
const LAPTOP: Source = { ip: "203.0.113.42", userAgent: "Laptop/2.0 (sessions test)" };

/** A request from `source`: its address (as the proxy and Cloudflare report it) and User-Agent. */
function from(source: Source, method: string, path: string, body?: unknown, token?: string) {
  const headers: Record<string, string> = {
    "user-agent": source.userAgent,
    "x-forwarded-for": source.ip,
    "cf-connecting-ip": source.ip,
  };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  return api.request(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

type Account = { id: number; username: string; password: string };

async function account(): Promise<Account> {
  const user = await api.createUser();
  return { ...user, id: (await rowOf(api, user.username)).id };
}

async function loginFrom(source: Source, user: Account) {
  const res = await from(source, "POST", "/api/user/login", {
    username: user.username,
    password: user.password,
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as TokenPair;
}

const sidOf = (pair: TokenPair) => claimsOf(pair.access_token).sid as string;

type Listed = {
  id: string;
  created_at: string;
  last_used_at: string;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
};

const listSessions = (token?: string) => api.send("GET", "/api/me/sessions", undefined, token);

async function listed(pair: TokenPair) {
  const res = await listSessions(pair.access_token);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { sessions: Listed[]; more: boolean };
}

const listedIds = async (pair: TokenPair) => (await listed(pair)).sessions.map((s) => s.id);

const endSession = (id: string, token?: string) =>
  api.send("DELETE", `/api/me/sessions/${encodeURIComponent(id)}`, undefined, token);

/** Moves a session's start and last use `seconds` into the past. */
const ageSession = (id: string, seconds: number) =>
  api.db
    .update(sessions)
    .set({
      createdAt: sql`${sessions.createdAt} - ${seconds}::int * interval '1 second'`,
      lastUsedAt: sql`${sessions.lastUsedAt} - ${seconds}::int * interval '1 second'`,
    })
    .where(eq(sessions.id, id));

const accessWorks = async (user: Account, pair: TokenPair) =>
  (await getSelf(api, user.username, `Bearer ${pair.access_token}`)).status === 200;

/** The account's session rows and its audit entries, to show that nothing changed. */
const stateOf = async (user: Account) => ({
  sessions: await api.db
    .select()
    .from(sessions)
    .where(eq(sessions.userId, user.id))
    .orderBy(asc(sessions.id)),
  audit: await api.db
    .select()
    .from(auditLog)
    .where(eq(auditLog.targetId, user.id))
    .orderBy(asc(auditLog.id)),
});

describe("GET /api/me/sessions", () => {
  it("shows each live session's start, last use, address and user agent, and which is current", async () => {
    const me = await account();
    const phone = await loginFrom(PHONE, me);
    await ageSession(sidOf(phone), 3600);
    const laptop = await loginFrom(LAPTOP, me);

    const res = await listSessions(laptop.access_token);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as { sessions: Listed[]; more: boolean };
    const rows = new Map((await sessionsOfUser(api, me.id)).map((row) => [row.id, row]));
    const shown = (pair: TokenPair, source: Source, current: boolean) => {
      const row = rows.get(sidOf(pair));
      return {
        id: sidOf(pair),
        created_at: row?.createdAt.toISOString(),
        last_used_at: row?.lastUsedAt.toISOString(),
        ip: source.ip,
        user_agent: source.userAgent,
        current,
      };
    };
    expect(body).toEqual({
      sessions: [shown(laptop, LAPTOP, true), shown(phone, PHONE, false)],
      more: false,
    });
    expect(Object.keys(body.sessions[0] ?? {}).sort()).toEqual(SESSION_KEYS);

    // The same list from the phone marks the phone's session.
    const fromPhone = await listed(phone);
    expect(fromPhone.sessions.map((s) => [s.id, s.current])).toEqual([
      [sidOf(laptop), false],
      [sidOf(phone), true],
    ]);
  });

  it("lists newest first, whatever order the sessions were used in", async () => {
    const me = await account();
    const [a, b, c] = [
      await loginFrom(PHONE, me),
      await loginFrom(PHONE, me),
      await loginFrom(PHONE, me),
    ] as [TokenPair, TokenPair, TokenPair];
    // Started: b three hours ago, a two, c one; a was refreshed last.
    await ageSession(sidOf(b), 3 * 3600);
    await ageSession(sidOf(a), 2 * 3600);
    await ageSession(sidOf(c), 3600);
    const a2 = await refreshPair(api, a.refresh_token);
    expect(await listedIds(a2)).toEqual([sidOf(c), sidOf(a), sidOf(b)]);
  });

  it("shows a refresh as the last use, with its address and user agent; a plain read changes nothing", async () => {
    const me = await account();
    const phone = await loginFrom(PHONE, me);
    await ageSession(sidOf(phone), 3600);
    const started = await sessionRowOf(api, sidOf(phone));

    const res = await from(LAPTOP, "POST", "/api/user/refresh", {
      refresh_token: phone.refresh_token,
    });
    expect(res.status).toBe(200);
    const renewed = (await res.json()) as TokenPair;
    const [newest] = await api.db
      .select()
      .from(refreshTokens)
      .where(eq(refreshTokens.sessionId, sidOf(phone)))
      .orderBy(sql`${refreshTokens.createdAt} desc`)
      .limit(1);
    const [session] = (await listed(renewed)).sessions;
    expect(session).toEqual({
      id: sidOf(phone),
      created_at: started?.createdAt.toISOString(),
      last_used_at: newest?.createdAt.toISOString(),
      ip: LAPTOP.ip,
      user_agent: LAPTOP.userAgent,
      current: true,
    });
    expect(session?.last_used_at).not.toBe(session?.created_at);

    // Authenticated requests from elsewhere are not a use of the session.
    const before = await sessionRowOf(api, sidOf(phone));
    expect((await from(PHONE, "GET", "/api/me", undefined, renewed.access_token)).status).toBe(200);
    expect(await sessionRowOf(api, sidOf(phone))).toEqual(before);
  });

  it("leaves out sessions logged out, ended as stolen, expired or outdated by a password change", async () => {
    const me = await account();
    const loggedOut = await loginFrom(PHONE, me);
    const expired = await loginFrom(PHONE, me);
    const stolen = await loginFrom(PHONE, me);
    const live = await loginFrom(PHONE, me);
    const current = await loginFrom(LAPTOP, me);
    expect(
      await logout(api, { refresh_token: loggedOut.refresh_token }).then((r) => r.json()),
    ).toEqual(LOGGED_OUT);
    await expireRefreshToken(api, expired.refresh_token);
    // A consumed token presented after the grace window ends its session.
    await refreshPair(api, stolen.refresh_token);
    await ageConsumption(api, stolen.refresh_token, 3600);
    await expectRefreshRefused(await refresh(api, stolen.refresh_token));

    const ids = await listedIds(current);
    expect(ids.sort()).toEqual([sidOf(live), sidOf(current)].sort());

    const changed = await api.send(
      "POST",
      "/api/me/password",
      { current_password: me.password, new_password: `${me.password}-changed` },
      current.access_token,
    );
    expect(changed.status).toBe(200);
    const fresh = (await changed.json()) as TokenPair;
    expect(await listedIds(fresh)).toEqual([sidOf(fresh)]);
  });

  it("shows the current session even when its refresh token has expired (its access token still works)", async () => {
    const me = await account();
    const other = await loginFrom(PHONE, me);
    const current = await loginFrom(LAPTOP, me);
    await expireRefreshToken(api, current.refresh_token);
    await expireRefreshToken(api, other.refresh_token);
    expect((await listed(current)).sessions).toEqual([
      expect.objectContaining({ id: sidOf(current), current: true }),
    ]);
  });

  it("shows the caller's sessions only", async () => {
    const me = await account();
    const other = await account();
    const mine = await loginFrom(PHONE, me);
    await loginFrom(PHONE, other);
    expect(await listedIds(mine)).toEqual([sidOf(mine)]);
  });

  it("shows the newest 100 live sessions and says that more exist", async () => {
    const me = await account();
    const current = await loginFrom(LAPTOP, me);
    // 100 older sessions, each with a live refresh token, made in the database.
    await api.db.execute(sql`with made as (
        insert into sessions (id, user_id, token_version, created_at, last_used_at, ip, user_agent)
        select gen_random_uuid()::text, s.user_id, s.token_version,
          s.created_at - n * interval '1 minute', s.created_at - n * interval '1 minute',
          '192.0.2.1', 'old/' || n
        from sessions s, generate_series(1, 100) n where s.id = ${sidOf(current)}
        returning id, created_at
      )
      insert into refresh_tokens (token_hash, session_id, created_at, expires_at)
      select 'hash-' || id, id, created_at, created_at + interval '30 days' from made`);
    const page = await listed(current);
    expect(page.more).toBe(true);
    expect(page.sessions).toHaveLength(100);
    expect(page.sessions[0]).toMatchObject({ id: sidOf(current), current: true });
    expect(page.sessions.slice(1).map((s) => s.user_agent)).toEqual(
      Array.from({ length: 99 }, (_, i) => `old/${i + 1}`),
    );

    // One fewer live session and all fit.
    await endOwn(current, page.sessions[99]?.id as string);
    expect((await listed(current)).more).toBe(false);
  });

  it("needs a valid access token: 401 without one, with a bad one, or one of an ended session", async () => {
    const me = await account();
    const pair = await loginFrom(PHONE, me);
    await expectUnauthorized(await listSessions());
    await expectUnauthorized(await listSessions("not.a.token"));
    await logout(api, { refresh_token: pair.refresh_token });
    await expectUnauthorized(await listSessions(pair.access_token));
  });
});

/** Ends one of the caller's sessions and expects the 200. */
async function endOwn(pair: TokenPair, id: string) {
  const res = await endSession(id, pair.access_token);
  expect(res.status, await res.clone().text()).toBe(200);
  expect(await res.json()).toEqual({ msg: "Session ended." });
}

describe("DELETE /api/me/sessions/{id}", () => {
  it("ends that session at once: its access and refresh tokens are refused, the other session works", async () => {
    const me = await account();
    const phone = await loginFrom(PHONE, me);
    const laptop = await loginFrom(LAPTOP, me);
    expect(await accessWorks(me, phone)).toBe(true);

    await endOwn(laptop, sidOf(phone));

    await expectUnauthorized(await getSelf(api, me.username, `Bearer ${phone.access_token}`));
    await expectRefreshRefused(await refresh(api, phone.refresh_token));
    expect((await sessionRowOf(api, sidOf(phone)))?.revokedAt).toEqual(expect.any(Date));
    expect(await accessWorks(me, laptop)).toBe(true);
    const renewed = await refreshPair(api, laptop.refresh_token);
    expect(await listedIds(renewed)).toEqual([sidOf(laptop)]);
  });

  it("records a logout (detail session_id) by the account, from the request's address and agent", async () => {
    const me = await account();
    const phone = await loginFrom(PHONE, me);
    const laptop = await loginFrom(LAPTOP, me);
    const before = await stateOf(me);
    const res = await from(
      LAPTOP,
      "DELETE",
      `/api/me/sessions/${sidOf(phone)}`,
      undefined,
      laptop.access_token,
    );
    expect(res.status).toBe(200);
    const written = (await stateOf(me)).audit.slice(before.audit.length);
    expect(written).toEqual([
      expect.objectContaining({
        action: "logout",
        actorId: me.id,
        actorUsername: me.username,
        targetId: me.id,
        targetUsername: me.username,
        detail: "session_id",
        fields: [],
        ip: LAPTOP.ip,
        userAgent: LAPTOP.userAgent,
      }),
    ]);
  });

  it("may end the caller's own current session, whose tokens then stop working", async () => {
    const me = await account();
    const pair = await loginFrom(PHONE, me);
    await endOwn(pair, sidOf(pair));
    await expectUnauthorized(await listSessions(pair.access_token));
    await expectRefreshRefused(await refresh(api, pair.refresh_token));
  });

  it("answers 404 for another account's session, and nothing changes", async () => {
    const me = await account();
    const other = await account();
    const mine = await loginFrom(PHONE, me);
    const theirs = await loginFrom(LAPTOP, other);
    const before = { me: await stateOf(me), other: await stateOf(other) };

    const res = await endSession(sidOf(theirs), mine.access_token);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual(SESSION_NOT_FOUND);

    expect({ me: await stateOf(me), other: await stateOf(other) }).toEqual(before);
    expect(await accessWorks(other, theirs)).toBe(true);
    await refreshPair(api, theirs.refresh_token);
  });

  it("answers the same 404 for an unknown, a malformed or an already ended id, and nothing changes", async () => {
    const me = await account();
    const pair = await loginFrom(PHONE, me);
    const ended = await loginFrom(PHONE, me);
    await logout(api, { refresh_token: ended.refresh_token });
    const before = await stateOf(me);
    for (const id of [
      crypto.randomUUID(),
      "not-a-session",
      sidOf(pair).toUpperCase(),
      `${sidOf(pair)}x`,
      sidOf(ended),
    ]) {
      const res = await endSession(id, pair.access_token);
      expect(res.status, id).toBe(404);
      expect(await res.json()).toEqual(SESSION_NOT_FOUND);
    }
    expect(await stateOf(me)).toEqual(before);
    expect(await accessWorks(me, pair)).toBe(true);
  });

  it("needs a valid access token: 401 without one or with one of an ended session, and nothing changes", async () => {
    const me = await account();
    const pair = await loginFrom(PHONE, me);
    const gone = await loginFrom(PHONE, me);
    await logout(api, { refresh_token: gone.refresh_token });
    const before = await stateOf(me);
    await expectUnauthorized(await endSession(sidOf(pair)));
    await expectUnauthorized(await endSession(sidOf(pair), gone.access_token));
    expect(await stateOf(me)).toEqual(before);
    expect(
      await api.db
        .select()
        .from(sessions)
        .where(and(eq(sessions.id, sidOf(pair)), sql`${sessions.revokedAt} is null`)),
    ).toHaveLength(1);
  });
});
