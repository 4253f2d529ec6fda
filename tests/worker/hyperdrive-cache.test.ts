import { sql as drizzleSql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import { uncachedByHyperdrive } from "../../src/worker/uncached-reads";
import { expectUnauthorized, getSelf, setActive } from "../support/auth-helpers";
import { isCacheable, uncacheableFunctions } from "../support/hyperdrive-rules";
import { type HyperdriveStandIn, startHyperdriveStandIn } from "../support/hyperdrive-stand-in";
import { loginPair, logout } from "../support/session-helpers";
import { createWorkerApi } from "../support/worker-api";

// Hyperdrive caches every read its rules allow, for 60 s by default, and `wrangler dev` caches
// nothing. Every Worker test runs behind a stand-in for that cache (tests/support/worker-api.ts),
// whose close() fails when the Worker sent a statement the cache may answer. This file shows the
// stand-in caches as documented, so that check means something, and that what the contract says
// takes effect at once does so through it.

let api: Awaited<ReturnType<typeof createWorkerApi>>;
beforeAll(async () => {
  api = await createWorkerApi();
});
afterAll(() => api?.close());

describe("the stand-in for Hyperdrive's query cache", () => {
  let standIn: HyperdriveStandIn;
  let sql: postgres.Sql;
  beforeAll(async () => {
    const url = new URL(api.database.url as string);
    standIn = await startHyperdriveStandIn({
      target: { host: url.hostname, port: Number(url.port || 5432) },
      databaseUrl: url.toString(),
    });
    url.hostname = "127.0.0.1";
    url.port = String(standIn.port);
    sql = postgres(url.toString(), { max: 1, fetch_types: false, onnotice: () => {} });
  });
  afterAll(async () => {
    await sql?.end();
    await standIn?.close();
  });

  const addAccount = () =>
    api.db.insert(users).values({
      username: `cached_${Math.random().toString(36).slice(2, 10)}`,
      email: `cached_${Math.random().toString(36).slice(2, 10)}@example.com`,
      firstName: "C",
      lastName: "C",
      passwordHash: "x",
      createdAt: new Date(),
      updatedAt: new Date(),
    });
  const count = async (text: string, params: number[], prepare: boolean) => {
    const query = params.length > 0 ? sql.unsafe(text, params, { prepare }) : sql.unsafe(text);
    const [row] = await (params.length > 0 || prepare ? query : query.simple());
    return (row as unknown as { n: number }).n;
  };

  it.each([
    ["a prepared statement", true],
    ["an unnamed statement", false],
  ])("keeps the rows of a plain read, %s, by text and parameters", async (_label, prepare) => {
    const text = `select count(*)::int as n from users where id > $1 and '${prepare}' <> ''`;
    const before = await count(text, [0], prepare);
    await addAccount();
    expect(await count(text, [0], prepare), "the same text and parameters: kept").toBe(before);
    expect(await count(text, [-1], prepare), "other parameters: read anew").toBe(before + 1);
    expect(standIn.cacheableStatements()).toContain(text);
  });

  it("keeps the rows of a plain read sent as a simple query", async () => {
    const text = "select count(*)::int as n from users where 'simple' = 'simple'";
    const before = await count(text, [], false);
    await addAccount();
    expect(await count(text, [], false)).toBe(before);
  });

  it.each([
    [
      "a volatile function",
      "select count(*)::int as n, clock_timestamp() from users where id > $1",
    ],
    [
      "a stable function",
      "select count(*)::int as n from users where id > $1 and now() is not null",
    ],
    [
      "a stable value function",
      "select count(*)::int as n, current_timestamp from users where id > $1",
    ],
    [
      "a write in a CTE",
      "with w as (update users set last_name = last_name where false) select count(*)::int as n from users where id > $1",
    ],
  ])("reads anew a statement with %s, and does not count it", async (_label, text) => {
    const before = await count(text, [0], true);
    await addAccount();
    expect(await count(text, [0], true)).toBe(before + 1);
    expect(standIn.cacheableStatements()).not.toContain(text);
  });
});

describe("the Worker's marker (src/worker/uncached-reads.ts)", () => {
  it.each([
    ["select 1 as n"],
    ["with a as (select 2 as n) select n from a"],
    [
      "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT max(n) AS n FROM r",
    ],
    ["(select 4 as n) union all (select 5)"],
    ["values (6)"],
    ["select id as n from users where id > 0 order by id limit 2 for update"],
  ])("makes %s uncacheable and returns the same rows", async (text) => {
    const db = postgres(api.database.url as string, { max: 1, onnotice: () => {} });
    try {
      const uncacheable = await uncacheableFunctions(api.database.url as string);
      const marked = uncachedByHyperdrive(text);
      expect(isCacheable(text, uncacheable)).toBe(true);
      expect(isCacheable(marked, uncacheable)).toBe(false);
      expect(await db.unsafe(marked)).toEqual(await db.unsafe(text));
    } finally {
      await db.end();
    }
  });

  it("leaves writes as they are: Hyperdrive never caches them", () => {
    const write = "insert into audit_log (action) values ('logout')";
    expect(uncachedByHyperdrive(write)).toBe(write);
  });
});

describe("through Hyperdrive's query cache, the Worker's reads are never stale", () => {
  it("an access token is refused at once after logout everywhere, deactivation and a password change", async () => {
    const user = await api.createUser();
    const read = (token: string) => getSelf(api, user.username, `Bearer ${token}`);
    const me = (token: string) => api.send("GET", "/api/me", undefined, token);

    const first = await loginPair(api, user.username, user.password);
    expect((await read(first.access_token)).status).toBe(200);
    expect((await me(first.access_token)).status).toBe(200);
    expect((await logout(api, { all: true }, first.access_token)).status).toBe(200);
    await expectUnauthorized(await read(first.access_token));
    await expectUnauthorized(await me(first.access_token));

    const second = await loginPair(api, user.username, user.password);
    expect((await me(second.access_token)).status).toBe(200);
    const id = (await api.userRow(user.username))?.id as number;
    await setActive(api, id, false);
    await expectUnauthorized(await me(second.access_token));
    await setActive(api, id, true);

    const third = await loginPair(api, user.username, user.password);
    expect((await me(third.access_token)).status).toBe(200);
    const change = { current_password: user.password, new_password: "a brand new pass 4 cache" };
    const changed = await api.send("POST", "/api/me/password", change, third.access_token);
    expect(changed.status).toBe(200);
    await expectUnauthorized(await me(third.access_token));
  });

  it("an ADMIN reads an account, the listing and the audit log as they are now", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const get = (path: string) => api.send("GET", path, undefined, admin.token);
    const account = async () =>
      (await (await get(`/api/user/${user.username}`)).json()) as { last_name: string };
    const listed = async () =>
      (
        (await (await get(`/api/users?q=${user.username}`)).json()) as {
          users: { last_name: string }[];
        }
      ).users;
    const audited = async () =>
      ((await (await get(`/api/audit?user=${user.username}`)).json()) as { entries: unknown[] })
        .entries.length;

    expect((await account()).last_name).toBe("User");
    expect((await listed()).map((u) => u.last_name)).toEqual(["User"]);
    const entries = await audited();
    const renamed = await api.send(
      "PUT",
      `/api/user/${user.username}`,
      { last_name: "Renamed" },
      admin.token,
    );
    expect(renamed.status).toBe(200);
    expect((await account()).last_name).toBe("Renamed");
    expect((await listed()).map((u) => u.last_name)).toEqual(["Renamed"]);
    expect(await audited()).toBe(entries + 1);

    await api.db.execute(
      drizzleSql`update users set last_name = 'Direct' where username = ${user.username}`,
    );
    expect((await account()).last_name).toBe("Direct");
  });

  it("the Worker sent no statement that Hyperdrive may cache, and got no answer from its cache", () => {
    expect(api.hyperdrive.cacheableStatements()).toEqual([]);
    expect(api.hyperdrive.hits).toBe(0);
  });
});
