import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type User, users } from "../../src/db/schema";
import { expectUnauthorized, setActive } from "../support/auth-helpers";
import { type ContractApi, PUBLIC_USER_KEYS, startApi } from "../support/contract-api";

let api: ContractApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

type Query = Record<string, string> | [string, string][];
type PublicUser = { id: number; username: string } & Record<string, unknown>;
type Page = { users: PublicUser[]; next_cursor: string | null; total: number };

const list = (token: string | undefined, query: Query = {}) =>
  api.send("GET", `/api/users?${new URLSearchParams(query)}`, undefined, token);

async function page(token: string, query: Query = {}): Promise<Page> {
  const res = await list(token, query);
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get("cache-control")).toBe("no-store");
  const body = (await res.json()) as Page;
  expect(Object.keys(body).sort()).toEqual(["next_cursor", "total", "users"]);
  return body;
}

/**
 * Reads every page of a query, `limit` at a time, calling `between` after each page read; returns
 * the ids in the order they came and every page's total.
 */
async function walk(
  token: string,
  query: Record<string, string>,
  between: (pageIndex: number) => Promise<unknown> = async () => {},
) {
  const ids: number[] = [];
  const totals: number[] = [];
  let cursor: string | null = null;
  for (let i = 0; i === 0 || cursor !== null; i++) {
    expect(i, "more pages than rows").toBeLessThan(10_000);
    const body: Page = await page(token, cursor === null ? query : { ...query, cursor });
    ids.push(...body.users.map((u) => u.id));
    totals.push(body.total);
    cursor = body.next_cursor;
    await between(i);
  }
  return { ids, totals };
}

let counter = 0;
/** A unique marker to put in names, so a search finds only what one test made. */
const marker = () => `mk${++counter}x${Math.random().toString(36).slice(2, 7)}`;

/** Inserts accounts straight into the database (listing is what is under test, not register). */
async function insertAccounts(
  count: number,
  make: (i: number) => Partial<typeof users.$inferInsert> = () => ({}),
) {
  const now = new Date();
  const rows = Array.from({ length: count }, (_, i) => {
    const username = `${marker()}_${i}`;
    return {
      username,
      email: `${username}@example.com`,
      firstName: "Listed",
      lastName: "Account",
      passwordHash: "not-a-hash",
      createdAt: now,
      updatedAt: now,
      ...make(i),
    };
  });
  return api.db.insert(users).values(rows).returning();
}

const allRows = () => api.db.select().from(users).orderBy(users.id);

/** What the contract says a query returns, computed from the table itself. */
async function expected(filters: { q?: string; role?: string; active?: boolean }) {
  const needle = filters.q?.toLowerCase();
  return (await allRows()).filter(
    (row) =>
      (needle === undefined ||
        [row.username, row.email, row.firstName, row.lastName].some((field) =>
          field.toLowerCase().includes(needle),
        )) &&
      (filters.role === undefined || row.role === filters.role) &&
      (filters.active === undefined || row.active === filters.active),
  );
}

const ids = (rows: Pick<User, "id">[]) => rows.map((row) => row.id);

describe("GET /api/users: who may list", () => {
  it("without a token: 401 with WWW-Authenticate: Bearer", async () => {
    await expectUnauthorized(await list(undefined));
    await expectUnauthorized(await list(undefined, { q: "a", limit: "0" }));
  });

  it("a USER gets 403, whatever the query, even an invalid one", async () => {
    const user = await api.signedIn();
    const queries: Record<string, string>[] = [
      {},
      { q: "a" },
      { limit: "0" },
      { cursor: "junk" },
      { nope: "1" },
    ];
    for (const query of queries) {
      const res = await list(user.token, query);
      expect(res.status, JSON.stringify(query)).toBe(403);
      expect(await res.json()).toEqual({ msg: "Only an ADMIN can do this.", code: "FORBIDDEN" });
    }
  });

  it("the token of a demoted or deactivated ADMIN is refused", async () => {
    const demoted = await api.signedIn({ role: "ADMIN" });
    const deactivated = await api.signedIn({ role: "ADMIN" });
    const admin = await api.signedIn({ role: "ADMIN" });
    const demote = await api.send(
      "PUT",
      `/api/user/${demoted.username}`,
      { role: "USER" },
      demoted.token,
    );
    expect(demote.status).toBe(200);
    await expectUnauthorized(await list(demoted.token));
    const row = await api.userRow(deactivated.username);
    await setActive(api, row?.id as number, false);
    await expectUnauthorized(await list(deactivated.token));
    expect((await list(admin.token)).status).toBe(200);
  });
});

describe("GET /api/users: the page", () => {
  it("lists every account in id order with the public fields, never a hash", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    await insertAccounts(3);
    const rows = await allRows();
    const body = await page(admin.token, { limit: "100" });
    expect(rows.length).toBeLessThanOrEqual(100);
    expect(ids(body.users)).toEqual(ids(rows));
    expect(body.total).toBe(rows.length);
    expect(body.next_cursor).toBeNull();
    for (const [i, user] of body.users.entries()) {
      const row = rows[i] as User;
      expect(Object.keys(user).sort()).toEqual(PUBLIC_USER_KEYS);
      expect(user).toEqual({
        id: row.id,
        username: row.username,
        first_name: row.firstName,
        last_name: row.lastName,
        email: row.email,
        role: row.role,
        active: row.active,
        email_verified: row.emailVerified,
        mfa_enabled: row.mfaEnabled,
        created_at: row.createdAt.toISOString(),
        updated_at: row.updatedAt.toISOString(),
      });
    }
  });

  it("pages 20 at a time by default, with a next_cursor while more follow", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const mark = marker();
    await insertAccounts(21, () => ({ lastName: mark }));
    const first = await page(admin.token, { q: mark });
    expect(first.users).toHaveLength(20);
    expect(first.total).toBe(21);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await page(admin.token, { q: mark, cursor: first.next_cursor as string });
    expect(second.users).toHaveLength(1);
    expect(second.total).toBe(21);
    expect(second.next_cursor).toBeNull();
  });

  it("limit 1 and limit 100 are the bounds", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    await insertAccounts(2);
    const one = await page(admin.token, { limit: "1" });
    expect(one.users).toHaveLength(1);
    expect(one.next_cursor).toEqual(expect.any(String));
    const all = await page(admin.token, { limit: "100" });
    expect(all.users).toHaveLength(Math.min(100, (await allRows()).length));
  });

  it("a page that ends exactly at the last row says so: next_cursor null", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const mark = marker();
    await insertAccounts(4, () => ({ firstName: mark }));
    const first = await page(admin.token, { q: mark, limit: "2" });
    const second = await page(admin.token, {
      q: mark,
      limit: "2",
      cursor: first.next_cursor ?? "",
    });
    expect(second.users).toHaveLength(2);
    expect(second.next_cursor).toBeNull();
  });
});

describe("GET /api/users: pagination never repeats or skips a row", () => {
  it("across the whole table, pages of 7 give exactly the table in id order", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    await insertAccounts(30);
    const { ids: seen, totals } = await walk(admin.token, { limit: "7" });
    const rows = await allRows();
    expect(seen).toEqual(ids(rows));
    expect(new Set(totals)).toEqual(new Set([rows.length]));
  });

  it("while accounts are inserted and deleted between page reads", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const mark = marker();
    const initial = await insertAccounts(25, () => ({ lastName: mark }));
    const deleted: number[] = [];
    const { ids: seen, totals } = await walk(admin.token, { q: mark, limit: "6" }, async (i) => {
      // New accounts (higher ids) arrive mid-walk; one not yet read goes away.
      if (i < 3) await insertAccounts(4, () => ({ lastName: mark }));
      if (i === 1) {
        const victim = initial[20] as User;
        await api.db.delete(users).where(eq(users.id, victim.id));
        deleted.push(victim.id);
      }
    });
    const now = await expected({ q: mark });
    expect(now).toHaveLength(25 + 12 - 1);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(ids(now));
    expect(seen).not.toContain(deleted[0]);
    // Each page's total is the count at the moment of that page.
    expect(totals[0]).toBe(25);
    expect(totals.at(-1)).toBe(now.length);
  });

  it("a row deleted after its page was read leaves the next page intact", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const mark = marker();
    const rows = await insertAccounts(6, () => ({ lastName: mark }));
    const first = await page(admin.token, { q: mark, limit: "3" });
    // The cursor's own row (the last one read) goes: the next page still starts after it.
    await api.db.delete(users).where(eq(users.id, (rows[2] as User).id));
    const second = await page(admin.token, {
      q: mark,
      limit: "3",
      cursor: first.next_cursor ?? "",
    });
    expect(ids(second.users)).toEqual(ids(rows.slice(3)));
    expect(second.total).toBe(5);
  });

  it("a cursor whose remaining rows were all deleted gives an empty page with the right total", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const mark = marker();
    const rows = await insertAccounts(4, () => ({ lastName: mark }));
    const first = await page(admin.token, { q: mark, limit: "2" });
    await api.db.delete(users).where(
      inArray(
        users.id,
        rows.slice(2).map((row) => row.id),
      ),
    );
    const second = await page(admin.token, {
      q: mark,
      limit: "2",
      cursor: first.next_cursor ?? "",
    });
    expect(second).toEqual({ users: [], next_cursor: null, total: 2 });
  });
});

describe("GET /api/users: search and filters", () => {
  /** Accounts whose names hold LIKE's special characters, and look-alikes that must not match. */
  async function awkwardAccounts() {
    const mark = marker();
    const rows = await insertAccounts(9, (i) => {
      const names: [string, string][] = [
        [`${mark}100%`, "Percent"],
        [`${mark}100x`, "NotPercent"],
        [`${mark}`, "under_score"],
        [`${mark}`, "underXscore"],
        [`${mark}back\\slash`, "Back"],
        [`${mark}backslash`, "NoBack"],
        [`${mark}%_\\`, "All three"],
        [`${mark}`, "UPPER Case"],
        [`${mark}`, "plain"],
      ];
      const [firstName, lastName] = names[i] as [string, string];
      // No underscore in the username or email, so "_" as a wildcard would show.
      const username = `${mark}n${i}`;
      return { username, email: `${username}@example.com`, firstName, lastName };
    });
    return { mark, rows };
  }

  it.each([
    ["a percent sign", "100%", ["100%"]],
    ["an underscore", "under_score", ["under_score"]],
    ["a backslash", "back\\slash", ["back\\slash"]],
    ["all three", "%_\\", ["%_\\"]],
    ["a lone %", "%", ["100%", "%_\\"]],
    ["a lone _", "_", ["under_score", "%_\\"]],
    ["a lone \\", "\\", ["back\\slash", "%_\\"]],
  ])("%s is matched literally, not as a pattern", async (_l, fragment, found) => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const { rows } = await awkwardAccounts();
    const all = await walk(admin.token, { q: fragment, limit: "100" });
    // Over the whole table: exactly the rows that hold the fragment as text, and their count.
    const want = await expected({ q: fragment });
    expect(all.ids).toEqual(ids(want));
    expect(new Set(all.totals)).toEqual(new Set([want.length]));
    // Among this test's accounts, by name: only those with the very characters.
    const byName = rows.filter((row) =>
      [row.firstName, row.lastName].some((name) => name.includes(fragment)),
    );
    expect(byName.map((row) => `${row.firstName} ${row.lastName}`)).toEqual(
      found.map((f) => expect.stringContaining(f)),
    );
    expect(all.ids).toEqual(expect.arrayContaining(ids(byName)));
    const lookAlikes = rows.filter(
      (row) => !byName.includes(row) && !row.username.includes(fragment),
    );
    for (const row of lookAlikes) expect(all.ids, row.lastName).not.toContain(row.id);
  });

  it("is case-insensitive and searches username, email, first and last name", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const mark = marker();
    const [byUsername, byEmail, byFirst, byLast] = await insertAccounts(4, (i) => {
      const username = `${marker()}_${i}`;
      return [
        { username: `${username}Zq${mark}Un` },
        { email: `${mark}Em@Example.com` },
        { firstName: `Fi${mark}RST` },
        { lastName: `la${mark}st` },
      ][i] as Partial<User>;
    });
    for (const q of [mark, mark.toUpperCase(), `zq${mark.toUpperCase()}un`, `${mark}EM@example`]) {
      const body = await page(admin.token, { q, limit: "100" });
      const want = await expected({ q });
      expect(ids(body.users), q).toEqual(ids(want));
      expect(body.total, q).toBe(want.length);
    }
    const all = await page(admin.token, { q: mark, limit: "100" });
    expect(ids(all.users)).toEqual(ids([byUsername, byEmail, byFirst, byLast] as User[]));
  });

  it("a match never spans two fields", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const mark = marker();
    const [row] = (await insertAccounts(1, () => ({
      username: `${mark}head`,
      email: `tail${mark}@example.net`,
      firstName: `Ada${mark}`,
      lastName: `${mark}Lovelace`,
    }))) as User[];
    const joins = [
      `head${"tail"}`,
      "head tail",
      "example.netada",
      `.net${"Ada"}`,
      `${mark}${mark}lovelace`,
      `ada${mark}${mark}`,
    ];
    for (const q of joins) {
      const body = await page(admin.token, { q, limit: "100" });
      expect(ids(body.users), q).not.toContain(row?.id);
    }
    // Each field alone still matches.
    for (const q of [`${mark}head`, `tail${mark}@`, `ada${mark}`, `${mark}lovelace`]) {
      expect(ids((await page(admin.token, { q })).users), q).toEqual([row?.id]);
    }
  });

  it("finds an account by a fragment of its email in one request", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const mark = marker();
    const [target] = await insertAccounts(3, (i) => ({ email: `${mark}${i}@mail.example` }));
    const body = await page(admin.token, { q: `${mark}0@mail.exa` });
    expect(ids(body.users)).toEqual([target?.id]);
    expect(body.total).toBe(1);
  });

  it("role and active filter, alone and with q, with the right totals across pages", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const mark = marker();
    await insertAccounts(12, (i) => ({
      lastName: mark,
      role: i % 3 === 0 ? "ADMIN" : "USER",
      active: i % 2 === 0,
    }));
    const cases: { q?: string; role?: "USER" | "ADMIN"; active?: boolean }[] = [
      { role: "ADMIN" },
      { role: "USER" },
      { active: false },
      { active: true },
      { q: mark, role: "ADMIN" },
      { q: mark, active: false },
      { q: mark, role: "USER", active: true },
      { q: mark, role: "ADMIN", active: false },
    ];
    for (const filters of cases) {
      const query: Record<string, string> = { limit: "2" };
      if (filters.q) query.q = filters.q;
      if (filters.role) query.role = filters.role;
      if (filters.active !== undefined) query.active = String(filters.active);
      const want = await expected(filters);
      const got = await walk(admin.token, query);
      const label = JSON.stringify(filters);
      expect(got.ids, label).toEqual(ids(want));
      expect(new Set(got.totals), label).toEqual(new Set([want.length]));
    }
  });

  it("a search that matches nothing: no users, total 0, no cursor", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    expect(await page(admin.token, { q: `${marker()}-nothing` })).toEqual({
      users: [],
      next_cursor: null,
      total: 0,
    });
  });
});

describe("GET /api/users: refused queries are 400 VALIDATION_ERROR", () => {
  async function expectRefused(token: string, query: Query, path: string) {
    const res = await list(token, query);
    const label = JSON.stringify(query);
    expect(res.status, label).toBe(400);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as { details: { path: string }[] };
    expect(body, label).toEqual({
      msg: "Invalid request.",
      code: "VALIDATION_ERROR",
      details: [{ path, message: expect.any(String) }],
    });
  }

  it.each([
    "0",
    "101",
    "-1",
    "1.5",
    "1e1",
    "0x10",
    " 5",
    "",
    "abc",
    "1000",
    "99999999999999999999",
  ])("limit=%j", async (limit) => {
    const admin = await api.signedIn({ role: "ADMIN" });
    await expectRefused(admin.token, { limit }, "limit");
  });

  it.each([
    ["role", "user"],
    ["role", "SUPERUSER"],
    ["active", "yes"],
    ["active", "1"],
    ["active", "TRUE"],
    ["q", ""],
    ["q", "a\u0000b"],
    ["q", "line\nbreak"],
    ["q", "x".repeat(255)],
  ])("%s=%j", async (name, value) => {
    const admin = await api.signedIn({ role: "ADMIN" });
    await expectRefused(admin.token, { [name]: value }, name);
  });

  it("an unknown parameter, and a parameter given twice", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const res = await list(admin.token, { page: "2" });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      msg: "Invalid request.",
      code: "VALIDATION_ERROR",
      details: [{ path: "page", message: "Unknown field." }],
    });
    await expectRefused(
      admin.token,
      [
        ["limit", "5"],
        ["limit", "6"],
      ],
      "limit",
    );
  });
});

describe("GET /api/users: a cursor works only for the query it came from", () => {
  const CURSOR_REFUSED = {
    msg: "Invalid request.",
    code: "VALIDATION_ERROR",
    details: [
      {
        path: "cursor",
        message: "is not a next_cursor of this query (same q, role, active and verified)",
      },
    ],
  };

  /** A real cursor: the first page of `query` (over accounts of its own) at limit 2. */
  async function realCursor(token: string, query: Record<string, string>) {
    const body = await page(token, { ...query, limit: "2" });
    expect(body.next_cursor).toEqual(expect.any(String));
    return body.next_cursor as string;
  }

  async function expectCursorRefused(token: string, query: Record<string, string>) {
    const res = await list(token, query);
    const label = JSON.stringify(query);
    expect(res.status, label).toBe(400);
    expect(await res.json(), label).toEqual(CURSOR_REFUSED);
  }

  it("garbage: 400, never a 5xx", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const garbage = [
      "",
      "x",
      ".",
      "..",
      "a.b",
      "a.b.c",
      "MQ",
      "MQ.",
      ".AAAAAAAAAAAAAAAAAAAAAA",
      "null",
      "-1",
      "1",
      "%00",
      "\u00e9\u00e9",
      "MQ.AAAAAAAAAAAAAAAAAAAAAA",
      `${"A".repeat(100)}.${"A".repeat(99)}`,
      "'; drop table users;--",
    ];
    for (const cursor of garbage) await expectCursorRefused(admin.token, { cursor });
  });

  it("a tampered cursor: another id, a changed or truncated signature", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    await insertAccounts(3);
    const cursor = await realCursor(admin.token, {});
    const [idPart, macPart] = cursor.split(".") as [string, string];
    const otherId = (n: number) => Buffer.from(String(n)).toString("base64url");
    const flip = (s: string, at: number) =>
      s.slice(0, at) + (s[at] === "A" ? "B" : "A") + s.slice(at + 1);
    const tampered = [
      `${otherId(1)}.${macPart}`,
      `${otherId(Number(Buffer.from(idPart, "base64url").toString()) + 1)}.${macPart}`,
      `${idPart}.${flip(macPart, 0)}`,
      `${idPart}.${flip(macPart, macPart.length - 1)}`,
      `${idPart}.${macPart.slice(0, -1)}`,
      `${idPart}.${macPart}A`,
      `${idPart}.${macPart}.${macPart}`,
      `${idPart}=.${macPart}`,
      `${flip(idPart, 0)}.${macPart}`,
      cursor.toUpperCase(),
    ];
    for (const bad of tampered) {
      expect(bad).not.toBe(cursor);
      await expectCursorRefused(admin.token, { cursor: bad });
    }
    // The untouched cursor still works.
    expect((await list(admin.token, { cursor, limit: "2" })).status).toBe(200);
  });

  it("a cursor from another query (other q, role or active) is refused", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const mark = marker();
    await insertAccounts(6, () => ({ lastName: mark, role: "ADMIN", active: true }));
    const queries: Record<string, string>[] = [
      {},
      { q: mark },
      { q: mark.toUpperCase() },
      { role: "ADMIN" },
      { active: "true" },
      { q: mark, role: "ADMIN", active: "true" },
    ];
    const cursors = await Promise.all(queries.map((query) => realCursor(admin.token, query)));
    for (const [i, cursor] of cursors.entries()) {
      for (const [j, query] of queries.entries()) {
        const res = await list(admin.token, { ...query, cursor, limit: "2" });
        const label = `cursor of ${JSON.stringify(queries[i])} on ${JSON.stringify(query)}`;
        if (i === j) expect(res.status, label).toBe(200);
        else {
          expect(res.status, label).toBe(400);
          expect(await res.json(), label).toEqual(CURSOR_REFUSED);
        }
      }
    }
  });

  it("a cursor made by a server with another JWT secret is refused", async () => {
    const other = await startApi({ env: { JWT_SECRET_KEY: `another-${"k".repeat(40)}` } });
    try {
      const otherAdmin = await other.signedIn({ role: "ADMIN" });
      await other.createUser();
      await other.createUser();
      const body = (await (
        await other.send("GET", "/api/users?limit=1", undefined, otherAdmin.token)
      ).json()) as Page;
      expect(body.next_cursor).toEqual(expect.any(String));
      const admin = await api.signedIn({ role: "ADMIN" });
      await expectCursorRefused(admin.token, { cursor: body.next_cursor as string });
    } finally {
      await other.close();
    }
  });

  it("a page size may change between pages: the cursor is not bound to limit", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const mark = marker();
    const rows = await insertAccounts(5, () => ({ lastName: mark }));
    const first = await page(admin.token, { q: mark, limit: "2" });
    const rest = await page(admin.token, { q: mark, limit: "10", cursor: first.next_cursor ?? "" });
    expect(ids(rest.users)).toEqual(ids(rows.slice(2)));
  });
});
