import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refreshTokens, sessions } from "../../src/db/schema";
import {
  claimsOf,
  expectUnauthorized,
  getSelf,
  login,
  requestResetToken,
  resetPassword,
  rowOf,
  setActive,
  sha256Hex,
} from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";
import {
  ageConsumption,
  expectRefreshRefused,
  expireRefreshToken,
  LOGGED_OUT,
  loginPair,
  logout,
  REFRESH_TOKEN_SHAPE,
  refresh,
  refreshPair,
  refreshRowOf,
  sessionRowOf,
  sessionsOfUser,
  type TokenPair,
} from "../support/session-helpers";

let api: ContractApi;
beforeAll(async () => {
  api = await startApi({ env: { EXPOSE_RESET_TOKEN: "true" } });
});
afterAll(() => api.close());

const THIRTY_DAYS = 2_592_000;
const GRACE = 10;

/** A new account logged in once (one session). */
async function userWithSession() {
  const user = await api.createUser();
  const { id } = await rowOf(api, user.username);
  const pair = await loginPair(api, user.username, user.password);
  return { ...user, id, pair };
}

const sidOf = (pair: TokenPair) => claimsOf(pair.access_token).sid as string;

/** The status of the owner's GET of their own account with this access token. */
const selfStatus = async (username: string, pair: TokenPair) =>
  (await getSelf(api, username, `Bearer ${pair.access_token}`)).status;

async function expectAccessRefused(username: string, pair: TokenPair) {
  await expectUnauthorized(await getSelf(api, username, `Bearer ${pair.access_token}`));
}

function expectFreshPair(pair: TokenPair) {
  expect(pair).toEqual({
    access_token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
    token_type: "Bearer",
    expires_in: 900,
    refresh_token: expect.stringMatching(REFRESH_TOKEN_SHAPE),
    refresh_expires_in: THIRTY_DAYS,
  });
}

describe("login starts a session", () => {
  it("returns an opaque 256-bit refresh token and refresh_expires_in of 30 days", async () => {
    const { pair } = await userWithSession();
    expectFreshPair(pair);
    expect(Buffer.from(pair.refresh_token, "base64url")).toHaveLength(32);
    expect(pair.refresh_token).not.toContain(".");
  });

  it("puts the session id in the access token as sid, naming a live session of the account", async () => {
    const { id, pair } = await userWithSession();
    const session = await sessionRowOf(api, sidOf(pair));
    expect(session).toMatchObject({ userId: id, revokedAt: null });
  });

  it("stores the refresh token only as its SHA-256, expiring after 30 days", async () => {
    const { pair } = await userWithSession();
    const row = await refreshRowOf(api, pair.refresh_token);
    expect(row).toMatchObject({
      tokenHash: await sha256Hex(pair.refresh_token),
      sessionId: sidOf(pair),
      consumedAt: null,
    });
    const lifetime = (row?.expiresAt.getTime() ?? 0) - (row?.createdAt.getTime() ?? 0);
    expect(lifetime).toBe(THIRTY_DAYS * 1000);
    const everything = JSON.stringify([
      await api.db.select().from(refreshTokens),
      await api.db.select().from(sessions),
    ]);
    expect(everything).not.toContain(pair.refresh_token);
  });

  it("starts a separate session at every login", async () => {
    const { id, username, password, pair } = await userWithSession();
    const second = await loginPair(api, username, password);
    expect(second.refresh_token).not.toBe(pair.refresh_token);
    expect(sidOf(second)).not.toBe(sidOf(pair));
    expect(await sessionsOfUser(api, id)).toHaveLength(2);
  });
});

describe("POST /api/user/refresh rotates the refresh token", () => {
  it("answers 200 with a new pair in the same session whose access token works", async () => {
    const { username, pair } = await userWithSession();
    const next = await refreshPair(api, pair.refresh_token);
    expectFreshPair(next);
    expect(next.refresh_token).not.toBe(pair.refresh_token);
    expect(next.access_token).not.toBe(pair.access_token);
    expect(sidOf(next)).toBe(sidOf(pair));
    expect(await selfStatus(username, next)).toBe(200);
  });

  it("consumes the presented token and stores the new one, unconsumed, in the same session", async () => {
    const { pair } = await userWithSession();
    const next = await refreshPair(api, pair.refresh_token);
    expect((await refreshRowOf(api, pair.refresh_token))?.consumedAt).toBeInstanceOf(Date);
    expect(await refreshRowOf(api, next.refresh_token)).toMatchObject({
      sessionId: sidOf(pair),
      consumedAt: null,
    });
  });

  it("keeps rotating: each new refresh token works once more", async () => {
    const { username, pair } = await userWithSession();
    let current = pair;
    for (let i = 0; i < 4; i++) current = await refreshPair(api, current.refresh_token);
    expect(sidOf(current)).toBe(sidOf(pair));
    expect(await selfStatus(username, current)).toBe(200);
  });
});

describe("reuse of a consumed refresh token", () => {
  it("within REFRESH_REUSE_GRACE yields another valid pair in the same session", async () => {
    const { username, pair } = await userWithSession();
    const first = await refreshPair(api, pair.refresh_token);
    const again = await refreshPair(api, pair.refresh_token);
    expectFreshPair(again);
    expect(again.refresh_token).not.toBe(first.refresh_token);
    expect(sidOf(again)).toBe(sidOf(pair));
    expect(await selfStatus(username, again)).toBe(200);
    // Both tabs keep a working session.
    expect((await refresh(api, first.refresh_token)).status).toBe(200);
    expect((await refresh(api, again.refresh_token)).status).toBe(200);
  });

  it("after the grace answers 401 and revokes the whole session, its newest token included", async () => {
    const { username, pair } = await userWithSession();
    const newest = await refreshPair(api, pair.refresh_token);
    await ageConsumption(api, pair.refresh_token, GRACE + 1);

    await expectRefreshRefused(await refresh(api, pair.refresh_token));
    expect((await sessionRowOf(api, sidOf(pair)))?.revokedAt).toBeInstanceOf(Date);
    await expectRefreshRefused(await refresh(api, newest.refresh_token));
    await expectAccessRefused(username, newest);
    await expectAccessRefused(username, pair);
  });

  it("after the grace leaves the account's other sessions working", async () => {
    const { username, password, pair } = await userWithSession();
    const other = await loginPair(api, username, password);
    await refreshPair(api, pair.refresh_token);
    await ageConsumption(api, pair.refresh_token, GRACE + 1);
    await expectRefreshRefused(await refresh(api, pair.refresh_token));

    expect(await selfStatus(username, other)).toBe(200);
    const next = await refreshPair(api, other.refresh_token);
    expect(await selfStatus(username, next)).toBe(200);
  });

  it("two concurrent refreshes of one token both succeed, in the same session", async () => {
    const { username, pair } = await userWithSession();
    const [a, b] = await Promise.all([
      refresh(api, pair.refresh_token),
      refresh(api, pair.refresh_token),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const [pairA, pairB] = [(await a.json()) as TokenPair, (await b.json()) as TokenPair];
    expect(pairA.refresh_token).not.toBe(pairB.refresh_token);
    expect([sidOf(pairA), sidOf(pairB)]).toEqual([sidOf(pair), sidOf(pair)]);
    expect((await sessionRowOf(api, sidOf(pair)))?.revokedAt).toBeNull();
    for (const next of [pairA, pairB]) {
      expect(await selfStatus(username, next)).toBe(200);
      expect((await refresh(api, next.refresh_token)).status).toBe(200);
    }
  });
});

describe("refresh tokens that are refused with 401", () => {
  it("an unknown token of the right shape", async () => {
    const unknown = Buffer.alloc(32, 7).toString("base64url");
    await expectRefreshRefused(await refresh(api, unknown));
  });

  it("an expired token, which is not consumed by the attempt", async () => {
    const { pair } = await userWithSession();
    await expireRefreshToken(api, pair.refresh_token);
    await expectRefreshRefused(await refresh(api, pair.refresh_token));
    expect((await refreshRowOf(api, pair.refresh_token))?.consumedAt).toBeNull();
  });

  it("a token of a revoked session", async () => {
    const { pair } = await userWithSession();
    expect((await logout(api, { refresh_token: pair.refresh_token })).status).toBe(200);
    await expectRefreshRefused(await refresh(api, pair.refresh_token));
  });

  it("a token of an account deactivated in the database", async () => {
    const { id, pair } = await userWithSession();
    await setActive(api, id, false);
    await expectRefreshRefused(await refresh(api, pair.refresh_token));
  });
});

describe("refresh request validation", () => {
  it.each([
    ["an empty body", {}],
    ["an empty refresh_token", { refresh_token: "" }],
    ["a numeric refresh_token", { refresh_token: 42 }],
    ["an unknown field", { refresh_token: "abc", access_token: "x" }],
  ])("refuses %s with 400", async (_label, body) => {
    const res = await api.send("POST", "/api/user/refresh", body);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ msg: expect.any(String), code: "VALIDATION_ERROR" });
  });
});

describe("POST /api/user/logout with a refresh token", () => {
  it("answers 200 and ends that session: its refresh token and access tokens are refused", async () => {
    const { username, pair } = await userWithSession();
    const rotated = await refreshPair(api, pair.refresh_token);
    const res = await logout(api, { refresh_token: rotated.refresh_token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(LOGGED_OUT);

    expect((await sessionRowOf(api, sidOf(pair)))?.revokedAt).toBeInstanceOf(Date);
    await expectRefreshRefused(await refresh(api, rotated.refresh_token));
    await expectAccessRefused(username, rotated);
    await expectAccessRefused(username, pair);
  });

  it("leaves the account's other sessions working", async () => {
    const { username, password, pair } = await userWithSession();
    const other = await loginPair(api, username, password);
    expect((await logout(api, { refresh_token: pair.refresh_token })).status).toBe(200);

    expect((await sessionRowOf(api, sidOf(other)))?.revokedAt).toBeNull();
    expect(await selfStatus(username, other)).toBe(200);
    const next = await refreshPair(api, other.refresh_token);
    expect(await selfStatus(username, next)).toBe(200);
  });

  it("answers 200 again for a session already ended", async () => {
    const { pair } = await userWithSession();
    expect((await logout(api, { refresh_token: pair.refresh_token })).status).toBe(200);
    const again = await logout(api, { refresh_token: pair.refresh_token });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(LOGGED_OUT);
  });
});

describe("POST /api/user/logout with all: true", () => {
  it("ends every session of the account and refuses every access token issued before", async () => {
    const { id, username, password, pair } = await userWithSession();
    const rotated = await refreshPair(api, pair.refresh_token);
    const other = await loginPair(api, username, password);

    const res = await logout(api, { all: true }, other.access_token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(LOGGED_OUT);

    const rows = await sessionsOfUser(api, id);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row.revokedAt).toBeInstanceOf(Date);
    for (const ended of [rotated, other]) {
      await expectRefreshRefused(await refresh(api, ended.refresh_token));
    }
    for (const earlier of [pair, rotated, other]) await expectAccessRefused(username, earlier);
  });

  it("lets the account log in again afterwards", async () => {
    const { username, password, pair } = await userWithSession();
    expect((await logout(api, { all: true }, pair.access_token)).status).toBe(200);
    const fresh = await loginPair(api, username, password);
    expect(await selfStatus(username, fresh)).toBe(200);
    expect((await refresh(api, fresh.refresh_token)).status).toBe(200);
  });

  it("leaves other accounts' sessions alone", async () => {
    const me = await userWithSession();
    const someone = await userWithSession();
    expect((await logout(api, { all: true }, me.pair.access_token)).status).toBe(200);
    expect(await selfStatus(someone.username, someone.pair)).toBe(200);
    expect((await refresh(api, someone.pair.refresh_token)).status).toBe(200);
  });

  it("without an access token answers 401 and ends nothing", async () => {
    const { username, pair } = await userWithSession();
    await expectUnauthorized(await logout(api, { all: true }));
    await expectUnauthorized(await logout(api, { all: true }, "not.a.token"));
    expect(await selfStatus(username, pair)).toBe(200);
    expect((await refresh(api, pair.refresh_token)).status).toBe(200);
  });

  it("with an access token of an ended session answers 401", async () => {
    const { pair } = await userWithSession();
    expect((await logout(api, { refresh_token: pair.refresh_token })).status).toBe(200);
    await expectUnauthorized(await logout(api, { all: true }, pair.access_token));
  });
});

describe("logout request validation", () => {
  it("accepts all: false beside a refresh_token and ends only that session", async () => {
    const { username, pair } = await userWithSession();
    const res = await logout(api, { refresh_token: pair.refresh_token, all: false });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ msg: "Logged out." });
    expect(await selfStatus(username, pair)).toBe(401);
  });

  it.each([
    ["an empty body", {}],
    ["an unknown field", { refresh_token: "abc", everywhere: true }],
    ["all: false", { all: false }],
    ["a numeric refresh_token", { refresh_token: 42 }],
  ])("refuses %s with 400", async (_label, body) => {
    const { username, pair } = await userWithSession();
    const res = await logout(api, body, pair.access_token);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ msg: expect.any(String), code: "VALIDATION_ERROR" });
    expect(await selfStatus(username, pair)).toBe(200);
  });
});

type Changed = { username: string; email: string };
const accountChanges: [string, (user: Changed) => Promise<void>][] = [
  [
    "a password reset",
    async (user) => {
      const token = await requestResetToken(api, user);
      expect((await resetPassword(api, token, "a whole new password")).status).toBe(200);
    },
  ],
  [
    "an admin changing the password",
    async (user) => await adminPut(user.username, { password: "another fresh password" }),
  ],
  ["deactivation", async (user) => await adminPut(user.username, { active: false })],
  ["a role change", async (user) => await adminPut(user.username, { role: "ADMIN" })],
  [
    "deletion",
    async (user) => {
      const admin = await api.signedIn({ role: "ADMIN" });
      const res = await api.send("DELETE", `/api/user/${user.username}`, undefined, admin.token);
      expect(res.status).toBe(200);
    },
  ],
];

async function adminPut(username: string, body: object) {
  const admin = await api.signedIn({ role: "ADMIN" });
  const res = await api.send("PUT", `/api/user/${username}`, body, admin.token);
  expect(res.status, await res.clone().text()).toBe(200);
}

describe("account changes end every session of the account", () => {
  it.each(accountChanges)("%s", async (_label, change) => {
    const { username, password, pair } = await userWithSession();
    const rotated = await refreshPair(api, pair.refresh_token);
    const other = await loginPair(api, username, password);
    const bystander = await userWithSession();

    await change({ username, email: `${username}@example.com` });

    for (const ended of [rotated, other]) {
      await expectRefreshRefused(await refresh(api, ended.refresh_token));
      await expectAccessRefused(username, ended);
    }
    expect((await refresh(api, bystander.pair.refresh_token)).status).toBe(200);
  });

  it("a login with the new password after a reset starts a working session", async () => {
    const { username, email, pair } = await userWithSession();
    const token = await requestResetToken(api, { username, email });
    expect((await resetPassword(api, token, "the password after reset")).status).toBe(200);
    await expectRefreshRefused(await refresh(api, pair.refresh_token));
    expect((await login(api, username, "the password after reset")).status).toBe(200);
  });
});
