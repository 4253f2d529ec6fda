import { eq, type SQL, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectRows } from "../../src/db/database";
import { users } from "../../src/db/schema";
import { claimsOf, expectUnauthorized, rowOf } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";

// A handler checks the account, then writes; what another request changes in between must be
// caught by the write's own statement. Here the test makes that change in a transaction of its
// own and holds the row lock while the request goes through its checks (which read the committed
// row and pass) up to its write, which waits on the lock. Once the request is seen waiting, the
// test commits: the write re-reads the row it was waiting for and must no longer match.
// The same on every runtime: only the database and HTTP are involved.

let api: ContractApi;
beforeAll(async () => {
  api = await startApi({ needsServer: true });
});
afterAll(() => api.close());

/** Backends of this database other than the asking one waiting on a lock. */
async function lockWaiters() {
  const [row] = await selectRows<{ n: number }>(
    api.db,
    sql`select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
  );
  return row?.n ?? 0;
}

/**
 * Makes `change` in a transaction, sends the request, waits until the request waits on that
 * transaction's lock, then commits, and returns the response.
 */
async function raced(change: SQL, send: () => Promise<Response>) {
  let response: Promise<Response> | undefined;
  await api.db.transaction(async (tx) => {
    await tx.execute(change);
    response = send();
    // Kept from being an unhandled rejection while the transaction is still open.
    response.catch(() => {});
    const deadline = Date.now() + 20_000;
    while ((await lockWaiters()) === 0) {
      expect(Date.now(), "the request never reached its write").toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  return response as Promise<Response>;
}

/** The account's row and the audit entries naming it, to compare before and after. */
async function stateOf(id: number) {
  const [row] = await api.db.select().from(users).where(eq(users.id, id));
  const [audit] = await selectRows<{ n: number }>(
    api.db,
    sql`select count(*)::int as n from audit_log where actor_id = ${id} or target_id = ${id}`,
  );
  return { row, auditEntries: audit?.n };
}

type Row = NonNullable<Awaited<ReturnType<typeof stateOf>>["row"]>;

/** Each race: what the test changes meanwhile, and the row it expects to find afterwards. */
const races = [
  [
    // What a concurrent password change, role change or logout-all does to the account's tokens.
    "the token version changes",
    (id: number) => sql`update users set token_version = token_version + 1 where id = ${id}`,
    (row: Row) => ({ ...row, tokenVersion: row.tokenVersion + 1 }),
  ],
  [
    "the account is deactivated",
    (id: number) => sql`update users set active = false where id = ${id}`,
    (row: Row) => ({ ...row, active: false }),
  ],
] as const;

// PATCH /api/me and ending a session ask for no password; the other two are checked with the
// right one.
describe.each([
  [
    "PATCH /api/me",
    (me: { password: string; token: string }) =>
      api.send("PATCH", "/api/me", { first_name: "Raced" }, me.token),
  ],
  [
    "POST /api/me/password",
    (me: { password: string; token: string }) =>
      api.send(
        "POST",
        "/api/me/password",
        { current_password: me.password, new_password: `${me.password}-renewed` },
        me.token,
      ),
  ],
  [
    "DELETE /api/me",
    (me: { password: string; token: string }) =>
      api.send("DELETE", "/api/me", { password: me.password }, me.token),
  ],
  [
    "DELETE /api/me/sessions/{id}",
    (me: { password: string; token: string }) =>
      api.send("DELETE", `/api/me/sessions/${claimsOf(me.token).sid}`, undefined, me.token),
  ],
] as const)("%s, raced", (_name, write) => {
  it.each(races)(
    "is 401 and changes nothing when %s between the check and the write",
    async (_what, change, changed) => {
      const me = await api.signedIn();
      const id = (await rowOf(api, me.username)).id;
      const before = await stateOf(id);
      await expectUnauthorized(await raced(change(id), () => write(me)));
      // Only what the test changed: names, password hash and everything else as before.
      expect(await stateOf(id)).toEqual({
        row: changed(before.row as Row),
        auditEntries: before.auditEntries,
      });
    },
  );
});

describe("DELETE /api/user/{username} by an ADMIN, raced", () => {
  it("deletes nothing when the target is promoted to ADMIN between the check and the write", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const target = await api.createUser();
    const id = (await rowOf(api, target.username)).id;
    const before = await stateOf(id);
    const res = await raced(sql`update users set role = 'ADMIN' where id = ${id}`, () =>
      api.send("DELETE", `/api/user/${target.username}`, undefined, admin.token),
    );
    // The write found no USER of that id; the target was never deleted, and it exists: not a 404.
    expect(res.status, await res.clone().text()).toBe(403);
    expect(await res.json()).toEqual({
      msg: "Only USER accounts can be deleted.",
      code: "FORBIDDEN",
    });
    const after = await stateOf(id);
    expect(after).toEqual({
      row: { ...before.row, role: "ADMIN" },
      auditEntries: before.auditEntries,
    });
  });
});

describe("PUT /api/user/{username} by an ADMIN, raced", () => {
  it("is 403 and changes nothing when the target is promoted to ADMIN while the write waits", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const target = await api.createUser();
    const id = (await rowOf(api, target.username)).id;
    const before = await stateOf(id);
    const res = await raced(sql`update users set role = 'ADMIN' where id = ${id}`, () =>
      api.send("PUT", `/api/user/${target.username}`, { first_name: "Raced" }, admin.token),
    );
    expect(res.status, await res.clone().text()).toBe(403);
    expect(await res.json()).toEqual({
      msg: "An ADMIN cannot modify another ADMIN.",
      code: "FORBIDDEN",
    });
    expect(await stateOf(id)).toEqual({
      row: { ...before.row, role: "ADMIN" },
      auditEntries: before.auditEntries,
    });
  });

  it("is 404 and changes nothing when the target is renamed while the write waits", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const target = await api.createUser();
    const id = (await rowOf(api, target.username)).id;
    const before = await stateOf(id);
    const renamed = `${target.username}_moved`;
    const res = await raced(sql`update users set username = ${renamed} where id = ${id}`, () =>
      api.send("PUT", `/api/user/${target.username}`, { first_name: "Raced" }, admin.token),
    );
    expect(res.status, await res.clone().text()).toBe(404);
    expect(await stateOf(id)).toEqual({
      row: { ...before.row, username: renamed, searchText: expect.any(String) },
      auditEntries: before.auditEntries,
    });
  });
});
