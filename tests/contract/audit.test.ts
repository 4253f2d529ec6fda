import { asc, eq, or, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectRows } from "../../src/db/database";
import { type AuditEntry, auditLog, users } from "../../src/db/schema";
import { rowOf, setActive } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";
import { ageConsumption, type TokenPair } from "../support/session-helpers";

// The audit log: an entry for every event the contract names, written with its change, readable
// by an ADMIN at GET /api/audit, and never holding a password or a token.

let api: ContractApi;
beforeAll(async () => {
  // A reset mail at most once a minute per account: a second request is recorded as not_sent.
  api = await startApi({ env: { EXPOSE_RESET_TOKEN: "true", RESET_EMAIL_INTERVAL: "60" } });
});
afterAll(() => api.close());

const USER_AGENT = `audit-test/${Math.random().toString(36).slice(2, 10)}`;

/** The passwords and tokens that went through the API since the scan's test cleared it. */
const secrets = new Set<string>();

/** A request with this file's user agent; the tokens of its answer are kept as secrets. */
async function send(method: string, path: string, body?: unknown, token?: string) {
  const headers: Record<string, string> = { "user-agent": USER_AGENT };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await api.request(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.clone().text();
  for (const key of ["access_token", "refresh_token", "token"]) {
    const match = new RegExp(`"${key}":"([^"]+)"`).exec(text);
    if (match?.[1]) secrets.add(match[1]);
  }
  return res;
}

let counter = 0;
/** Registers an account through the API (its password kept as a secret). */
async function register(role: "USER" | "ADMIN" = "USER") {
  const username = `aud${++counter}_${Math.random().toString(36).slice(2, 7)}`;
  const account = {
    username,
    first_name: "Audit",
    last_name: "Trail",
    email: `${username}@example.com`,
    password: `secret-${Math.random().toString(36).slice(2)}-pass`,
  };
  secrets.add(account.password);
  const res = await send("POST", "/api/user/register", account);
  expect(res.status, await res.clone().text()).toBe(201);
  const row = await rowOf(api, username);
  if (role === "ADMIN") await api.db.update(users).set({ role }).where(eq(users.id, row.id));
  return { ...account, id: row.id };
}

/** A login attempt with the account's name and `password` (its own by default). */
const attempt = (account: { username: string; password: string }, password = account.password) =>
  send("POST", "/api/user/login", { username: account.username, password });

async function signIn(account: { username: string; password: string }) {
  const res = await attempt(account);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as TokenPair;
}

/** The entries naming the account as actor or target, oldest first. */
const entriesOf = (id: number) =>
  api.db
    .select()
    .from(auditLog)
    .where(or(eq(auditLog.actorId, id), eq(auditLog.targetId, id)))
    .orderBy(asc(auditLog.id));

/**
 * The actions of `entries` but email.verification_sent, which registering writes in the statement
 * of user.registered, in either order (tests/contract/email-verification.test.ts checks it).
 */
const actionsBut = (entries: Record<string, unknown>[]) =>
  entries.map((e) => e.action).filter((action) => action !== "email.verification_sent");

const allEntries = () => api.db.select().from(auditLog).orderBy(asc(auditLog.id));

type Party = { id: number; username: string };
const party = (account: Party) => ({ id: account.id, username: account.username });

/** The entry as the test expects it: its request's address and agent, a time, the rest given. */
function expected(
  action: AuditEntry["action"],
  parts: { actor?: Party; target?: Party; fields?: string[]; detail?: string } = {},
) {
  return expect.objectContaining({
    action,
    actorId: parts.actor?.id ?? null,
    actorUsername: parts.actor?.username ?? null,
    targetId: parts.target?.id ?? null,
    targetUsername: parts.target?.username ?? null,
    fields: parts.fields ?? [],
    detail: parts.detail ?? null,
    ip: expect.stringMatching(/^\S+$/),
    userAgent: USER_AGENT,
    at: expect.any(Date),
  });
}

/** The entries written by `action()`. */
async function entriesDuring(action: () => Promise<unknown>) {
  const [last] = await selectRows<{ id: string | null }>(
    api.db,
    sql`select max(id)::text as id from audit_log`,
  );
  await action();
  const after = await allEntries();
  return after.filter((entry) => entry.id > Number(last?.id ?? 0));
}

describe("an entry for every event, with actor, target, address, agent and time", () => {
  it("registration and a successful login", async () => {
    const me = await register();
    await signIn(me);
    const entries = await entriesOf(me.id);
    // The registration's two entries come from one statement, in either order.
    expect(entries.slice(0, 2)).toEqual(
      expect.arrayContaining([
        expected("user.registered", { actor: me, target: me }),
        expected("email.verification_sent", { actor: me, target: me, detail: "registration" }),
      ]),
    );
    expect(entries.slice(2)).toEqual([expected("login.succeeded", { actor: me, target: me })]);
  });

  it("failed logins: a wrong password, an unknown name (not stored), a deactivated account", async () => {
    const me = await register();
    const deactivated = await register();
    await setActive(api, deactivated.id, false);
    const unknownName = `nobody_${Math.random().toString(36).slice(2, 8)}`;
    const entries = await entriesDuring(async () => {
      expect((await attempt(me, "wrong-guess")).status).toBe(401);
      const unknown = { username: unknownName, password: "whatever-guess" };
      expect((await send("POST", "/api/user/login", unknown)).status).toBe(401);
      expect((await attempt(deactivated)).status).toBe(403);
    });
    expect(entries).toEqual([
      expected("login.failed", { target: party(me), detail: "password" }),
      expected("login.failed", { detail: "unknown_account" }),
      expected("login.failed", { target: party(deactivated), detail: "deactivated" }),
    ]);
    // What was typed as a name that matches no account may be a password: it is kept nowhere.
    expect(JSON.stringify(await allEntries())).not.toContain(unknownName);
  });

  it("throttled logins: the attempts a lockout refuses", async () => {
    const me = await register();
    const entries = await entriesDuring(async () => {
      for (let i = 0; i < 5; i++) {
        expect((await attempt(me, `guess-${i}`)).status).toBe(401);
      }
      expect((await attempt(me)).status).toBe(429);
    });
    expect(entries.map((e) => e.action)).toEqual([
      ...Array(5).fill("login.failed"),
      "login.throttled",
    ]);
    expect(entries.at(-1)).toEqual(
      expected("login.throttled", { target: party(me), detail: "lockout" }),
    );
  });

  it("logout of one session and of every session", async () => {
    const me = await register();
    const pair = await signIn(me);
    const entries = await entriesDuring(async () => {
      const one = await send("POST", "/api/user/logout", { refresh_token: pair.refresh_token });
      expect(one.status).toBe(200);
      // An unknown token ends no session: nothing to record.
      const unknown = await send("POST", "/api/user/logout", { refresh_token: "not-a-token" });
      expect(unknown.status).toBe(200);
      const fresh = await signIn(me);
      const all = await send("POST", "/api/user/logout", { all: true }, fresh.access_token);
      expect(all.status).toBe(200);
    });
    expect(entries).toEqual([
      expected("logout", { actor: me, target: me, detail: "session" }),
      expected("login.succeeded", { actor: me, target: me }),
      expected("logout", { actor: me, target: me, detail: "all" }),
    ]);
  });

  it("reuse of a consumed refresh token after the grace window", async () => {
    const me = await register();
    const pair = await signIn(me);
    expect(
      (await send("POST", "/api/user/refresh", { refresh_token: pair.refresh_token })).status,
    ).toBe(200);
    await ageConsumption(api, pair.refresh_token, 3600);
    const entries = await entriesDuring(async () => {
      const reused = await send("POST", "/api/user/refresh", { refresh_token: pair.refresh_token });
      expect(reused.status).toBe(401);
      // The session is revoked now: later attempts find nothing live to record.
      await send("POST", "/api/user/refresh", { refresh_token: pair.refresh_token });
    });
    expect(entries).toEqual([expected("refresh.reused", { target: party(me) })]);
  });

  it("reset requested (sent, then not sent inside the interval) and completed; an unmatched pair is not recorded", async () => {
    const me = await register();
    const entries = await entriesDuring(async () => {
      const pair = { username: me.username, email: me.email };
      const first = await send("POST", "/api/user/forget_password", pair);
      const { token } = (await first.json()) as { token: string };
      expect(token).toEqual(expect.any(String));
      expect((await send("POST", "/api/user/forget_password", pair)).status).toBe(200);
      const unmatched = { username: me.username, email: "someone.else@example.com" };
      expect((await send("POST", "/api/user/forget_password", unmatched)).status).toBe(200);
      const newPassword = `reset-${Math.random().toString(36).slice(2)}-pass`;
      const reset = await send("POST", "/api/user/reset_password", {
        token,
        new_password: newPassword,
      });
      expect(reset.status).toBe(200);
    });
    expect(entries).toEqual([
      expected("password_reset.requested", { target: party(me), detail: "sent" }),
      expected("password_reset.requested", { target: party(me), detail: "not_sent" }),
      expected("password_reset.completed", { actor: me, target: me }),
    ]);
  });

  it("a password change, a change of the caller's own names, and its own deletion", async () => {
    const me = await register();
    const pair = await signIn(me);
    const newPassword = `changed-${Math.random().toString(36).slice(2)}-pass`;
    const entries = await entriesDuring(async () => {
      const change = { current_password: me.password, new_password: newPassword };
      const changed = await send("POST", "/api/me/password", change, pair.access_token);
      expect(changed.status).toBe(200);
      const { access_token } = (await changed.json()) as TokenPair;
      // Only what changes is named: the unchanged last name is not.
      const names = { first_name: "Renamed", last_name: "Trail" };
      expect((await send("PATCH", "/api/me", names, access_token)).status).toBe(200);
      const gone = await send("DELETE", "/api/me", { password: newPassword }, access_token);
      expect(gone.status).toBe(200);
    });
    expect(entries).toEqual([
      expected("password.changed", { actor: me, target: me, fields: ["password"] }),
      expected("user.updated", { actor: me, target: me, fields: ["first_name"] }),
      expected("user.deleted", { actor: me, target: me }),
    ]);
    // The entries outlive the account.
    expect(await entriesOf(me.id)).toHaveLength(6);
  });

  it("an ADMIN's update (the names of the changed fields) and delete", async () => {
    const admin = await register("ADMIN");
    const { access_token } = await signIn(admin);
    const user = await register();
    const newPassword = `admin-set-${Math.random().toString(36).slice(2)}-pass`;
    const entries = await entriesDuring(async () => {
      const update = {
        first_name: "Audit",
        last_name: "Changed",
        active: false,
        password: newPassword,
      };
      const res = await send("PUT", `/api/user/${user.username}`, update, access_token);
      expect(res.status, await res.clone().text()).toBe(200);
      expect(
        (await send("DELETE", `/api/user/${user.username}`, undefined, access_token)).status,
      ).toBe(200);
    });
    expect(entries).toEqual([
      expected("user.updated", {
        actor: admin,
        target: user,
        fields: ["last_name", "active", "password"],
      }),
      expected("user.deleted", { actor: admin, target: user }),
    ]);
  });

  it("a refused request records nothing", async () => {
    const admin = await register("ADMIN");
    const otherAdmin = await register("ADMIN");
    const { access_token } = await signIn(admin);
    const user = await register();
    const userToken = (await signIn(user)).access_token;
    const entries = await entriesDuring(async () => {
      const { id: _, ...taken } = { ...user, password: "another-long-passphrase" };
      expect((await send("POST", "/api/user/register", taken)).status).toBe(409);
      expect((await send("POST", "/api/user/login", { username: "x" })).status).toBe(400);
      const rename = { first_name: "Nope" };
      expect((await send("PUT", `/api/user/${user.username}`, rename, userToken)).status).toBe(403);
      expect(
        (await send("PUT", `/api/user/${otherAdmin.username}`, rename, access_token)).status,
      ).toBe(403);
      expect(
        (await send("DELETE", `/api/user/${otherAdmin.username}`, undefined, access_token)).status,
      ).toBe(403);
      expect((await send("PATCH", "/api/me", { role: "ADMIN" }, userToken)).status).toBe(400);
      expect(
        (
          await send("POST", "/api/user/reset_password", {
            token: "nope",
            new_password: "long enough pass",
          })
        ).status,
      ).toBe(400);
      const weak = { current_password: user.password, new_password: "password" };
      expect((await send("POST", "/api/me/password", weak, userToken)).status).toBe(400);
    });
    expect(entries).toEqual([]);
  });
});

describe("GET /api/audit", () => {
  type Page = { entries: Record<string, unknown>[]; next_cursor: string | null };
  let admin: { token: string; id: number; username: string };
  beforeAll(async () => {
    const account = await register("ADMIN");
    admin = { ...account, token: (await signIn(account)).access_token };
  });
  const read = async (query: string, token = admin.token) => {
    const res = await send("GET", `/api/audit${query}`, undefined, token);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as Page;
  };
  const expectInvalid = async (query: string, path: string) => {
    const res = await send("GET", `/api/audit${query}`, undefined, admin.token);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; details: { path: string }[] };
    expect(body.code).toBe("VALIDATION_ERROR");
    expect(body.details.map((d) => d.path)).toEqual([path]);
  };

  it("answers entries newest first, in the documented shape", async () => {
    const me = await register();
    await signIn(me);
    const page = await read(`?user=${me.username}`);
    expect(actionsBut(page.entries)).toEqual(["login.succeeded", "user.registered"]);
    expect(page.entries[0]).toEqual({
      id: expect.any(Number),
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      action: "login.succeeded",
      actor: { id: me.id, username: me.username },
      target: { id: me.id, username: me.username },
      ip: expect.any(String),
      user_agent: USER_AGENT,
      fields: [],
      detail: null,
    });
    expect(page.next_cursor).toBeNull();
    const all = await read("?limit=100");
    const ids = all.entries.map((e) => e.id as number);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
  });

  it("filters by user (name in any case, or id; as actor or target) and by action", async () => {
    const me = await register();
    await signIn(me);
    await attempt(me, "wrong-guess");
    const byName = await read(`?user=${me.username.toUpperCase()}`);
    const byId = await read(`?user=${me.id}`);
    expect(actionsBut(byName.entries)).toEqual([
      "login.failed",
      "login.succeeded",
      "user.registered",
    ]);
    expect(byId).toEqual(byName);
    const failed = await read(`?user=${me.username}&action=login.failed`);
    expect(failed.entries).toHaveLength(1);
    expect(failed.entries[0]).toMatchObject({
      action: "login.failed",
      actor: null,
      detail: "password",
    });
    const onlyFailed = await read("?action=login.failed&limit=100");
    expect(onlyFailed.entries.every((e) => e.action === "login.failed")).toBe(true);
    expect(onlyFailed.entries.length).toBeGreaterThan(1);
  });

  it("finds an account's entries after it is renamed, and after it is deleted", async () => {
    const me = await register();
    const renamed = `${me.username}_new`;
    const res = await send("PUT", `/api/user/${me.username}`, { username: renamed }, admin.token);
    expect(res.status).toBe(200);
    // By its new name: the entries from before the rename too (they name it by id).
    const after = await read(`?user=${renamed}`);
    expect(actionsBut(after.entries)).toEqual(["user.updated", "user.registered"]);
    expect(after.entries[0]).toMatchObject({
      fields: ["username"],
      target: { username: me.username },
    });
    expect((await send("DELETE", `/api/user/${renamed}`, undefined, admin.token)).status).toBe(200);
    // Gone: by its id, or by a name it had.
    const byId = await read(`?user=${me.id}`);
    expect(actionsBut(byId.entries)).toEqual(["user.deleted", "user.updated", "user.registered"]);
    expect((await read(`?user=${me.username}`)).entries.length).toBeGreaterThanOrEqual(2);
  });

  it("pages through every entry without repeats or gaps while new ones are written", async () => {
    const snapshot = (await allEntries()).map((e) => e.id).reverse();
    expect(snapshot.length).toBeGreaterThan(10);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const page = await read(query);
      seen.push(...page.entries.map((e) => e.id as number));
      // Written between page reads: newer than the first page, so never in a later one.
      await send("POST", "/api/user/login", {
        username: "nobody_here",
        password: "nothing-at-all",
      });
      cursor = page.next_cursor;
    } while (cursor);
    // The first page also shows entries written before it was read (this test's first login).
    expect(seen.filter((id) => id <= (snapshot[0] ?? 0))).toEqual(snapshot);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("refuses a tampered or foreign cursor and bad parameters with 400", async () => {
    const page = await read("?limit=1");
    const cursor = page.next_cursor as string;
    const [id, mac] = cursor.split(".") as [string, string];
    const otherId = Buffer.from("1").toString("base64url");
    await expectInvalid(`?limit=1&cursor=${otherId}.${mac}`, "cursor");
    await expectInvalid(`?limit=1&cursor=${id}.${mac.slice(0, -2)}`, "cursor");
    await expectInvalid("?cursor=nonsense", "cursor");
    // A cursor of another query (other filters, or the user listing) is not one of this query.
    await expectInvalid(`?limit=1&action=logout&cursor=${cursor}`, "cursor");
    const users = await send("GET", "/api/users?limit=1", undefined, admin.token);
    const usersCursor = ((await users.json()) as { next_cursor: string }).next_cursor;
    await expectInvalid(`?cursor=${usersCursor}`, "cursor");
    await expectInvalid("?limit=0", "limit");
    await expectInvalid("?limit=101", "limit");
    await expectInvalid("?limit=1e1", "limit");
    await expectInvalid("?action=user.exploded", "action");
    await expectInvalid("?user=", "user");
    await expectInvalid("?verbose=1", "verbose");
  });

  it("a USER gets 403, no token 401", async () => {
    const user = await register();
    const { access_token } = await signIn(user);
    const forbidden = await send("GET", "/api/audit", undefined, access_token);
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toEqual({
      msg: "Only an ADMIN can do this.",
      code: "FORBIDDEN",
    });
    const anonymous = await send("GET", "/api/audit");
    expect(anonymous.status).toBe(401);
  });
});

describe("the log itself", () => {
  it("is append-only: an update, a delete or a truncate is refused by the database", async () => {
    const before = await allEntries();
    await expect(api.db.execute(sql`update audit_log set ip = 'forged'`)).rejects.toThrow();
    await expect(api.db.execute(sql`delete from audit_log`)).rejects.toThrow();
    await expect(api.db.execute(sql`truncate audit_log`)).rejects.toThrow();
    expect(await allEntries()).toEqual(before);
  });

  it("holds none of the passwords, hashes and tokens of a whole account's life", async () => {
    // Its own data, whatever the other tests of this file did or did not leave.
    secrets.clear();
    const entries = await entriesDuring(async () => {
      const me = await register();
      const admin = await register("ADMIN");
      const adminToken = (await signIn(admin)).access_token;
      const guess = `guess-${Math.random().toString(36).slice(2)}-typo`;
      // A password typed into the name field: an unknown name, kept nowhere.
      const typedAsName = `pw-as-name-${Math.random().toString(36).slice(2)}`;
      secrets.add(guess).add(typedAsName);
      expect((await attempt(me, guess)).status).toBe(401);
      const asName = { username: typedAsName, password: me.password };
      expect((await send("POST", "/api/user/login", asName)).status).toBe(401);
      const first = await signIn(me);
      const rotated = await send("POST", "/api/user/refresh", {
        refresh_token: first.refresh_token,
      });
      expect(rotated.status).toBe(200);

      const forget = { username: me.username, email: me.email };
      const forgot = await send("POST", "/api/user/forget_password", forget);
      expect(forgot.status).toBe(200);
      const { token: reset } = (await forgot.json()) as { token: string };
      expect(secrets).toContain(reset);
      const afterReset = `reset-${Math.random().toString(36).slice(2)}-pass`;
      secrets.add(afterReset);
      const resetRes = await send("POST", "/api/user/reset_password", {
        token: reset,
        new_password: afterReset,
      });
      expect(resetRes.status, await resetRes.clone().text()).toBe(200);

      const afterChange = `changed-${Math.random().toString(36).slice(2)}-pass`;
      secrets.add(afterChange);
      const pair = await signIn({ ...me, password: afterReset });
      const change = { current_password: afterReset, new_password: afterChange };
      const changed = await send("POST", "/api/me/password", change, pair.access_token);
      expect(changed.status).toBe(200);
      const { access_token } = (await changed.json()) as TokenPair;
      const wrongChange = { current_password: guess, new_password: `${afterChange}-2` };
      expect((await send("POST", "/api/me/password", wrongChange, access_token)).status).toBe(401);

      const adminSet = `admin-set-${Math.random().toString(36).slice(2)}-pass`;
      secrets.add(adminSet);
      const update = { password: adminSet, first_name: "Renamed" };
      const updated = await send("PUT", `/api/user/${me.username}`, update, adminToken);
      expect(updated.status, await updated.clone().text()).toBe(200);
      const last = await signIn({ ...me, password: adminSet });
      // The hashes the account had are secrets too: the current one, read before it goes.
      secrets.add((await rowOf(api, me.username)).passwordHash);
      const gone = await send("DELETE", "/api/me", { password: adminSet }, last.access_token);
      expect(gone.status).toBe(200);
    });

    // Not vacuous: every kind of entry the scenario makes is there to be scanned.
    expect(new Set(entries.map((entry) => entry.action))).toEqual(
      new Set([
        "user.registered",
        "email.verification_sent",
        "login.succeeded",
        "login.failed",
        "password_reset.requested",
        "password_reset.completed",
        "password.changed",
        "user.updated",
        "user.deleted",
      ]),
    );
    // Two registrations, six logins, a reset, two password checks, an update, a delete…
    expect(entries.length).toBeGreaterThanOrEqual(14);
    // Three passwords and the typo, the name-field password, the hash, a reset token and at
    // least five token pairs.
    expect(secrets.size).toBeGreaterThanOrEqual(17);
    const text = entries.map((entry) => JSON.stringify(entry)).join("\n");
    for (const secret of secrets) expect(text, "a secret in the audit log").not.toContain(secret);
    // Nor in any other form: no hash or JWT in the whole log, whoever wrote it.
    const rows = await selectRows<{ entry: string }>(
      api.db,
      sql`select row_to_json(a)::text as entry from audit_log a`,
    );
    expect(rows.map((row) => row.entry).join("\n")).not.toMatch(/\$argon2|\$fake\$|eyJ/);
  });
});
