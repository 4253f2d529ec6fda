import { eq, gt, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectRows } from "../../src/db/database";
import { auditLog, loginThrottles, sessions, users } from "../../src/db/schema";
import { expectUnauthorized, login, rowOf } from "../support/auth-helpers";
import { createTestApi, type NodeTestApi } from "../support/node-api";
import { PausingHasher } from "../support/pausing-hasher";
import { expectRateLimited, LOCKED_OUT } from "../support/session-helpers";

// The own-account writes (POST /api/me/password, DELETE /api/me) and login check the account and
// the name's lockout, then spend argon2 time on the password, then write. What changes meanwhile
// is caught by the write's own statement: the name locked, the account deactivated, its token
// version bumped. Here the hasher holds the verify while the test makes that change, so the
// write always comes after it.

let api: NodeTestApi;
const hasher = new PausingHasher();
beforeAll(async () => {
  api = await createTestApi({ hasher });
});
afterAll(() => api.close());

type Account = Awaited<ReturnType<NodeTestApi["signedIn"]>>;

/** Sends a request whose password verify is held, runs `meanwhile`, then lets the verify finish. */
async function interleaved(send: () => Promise<Response>, meanwhile: () => Promise<unknown>) {
  const held = hasher.holdNextVerify();
  const response = send();
  await held.reached;
  await meanwhile();
  held.release();
  return response;
}

/** Everything of the account a refused write must leave as it was, and the audit log's end. */
async function snapshot(userId: number) {
  const [row] = await api.db.select().from(users).where(eq(users.id, userId));
  const ownSessions = await api.db
    .select({ id: sessions.id })
    .from(sessions)
    .where(eq(sessions.userId, userId));
  const [last] = await selectRows<{ id: string | null }>(
    api.db,
    sql`select max(id)::text as id from audit_log`,
  );
  return { row, sessions: ownSessions.map((s) => s.id).sort(), lastAudit: Number(last?.id ?? 0) };
}

const entriesSince = (id: number) =>
  api.db.select().from(auditLog).where(gt(auditLog.id, id)).orderBy(auditLog.id);

/** The account's name locked for a minute from the test clock, as concurrent failures would. */
const lockName = (account: Account) =>
  api.db
    .update(loginThrottles)
    .set({ failures: 5, lockedUntil: new Date(api.clock.now().getTime() + 60_000) })
    .where(sql`${loginThrottles.key} = 'login:' || lower(${account.username})`)
    .returning({ key: loginThrottles.key });

const deactivate = (account: Account) =>
  api.db.update(users).set({ active: false }).where(eq(users.username, account.username));

/** What a concurrent logout-all, role change or password change does to the account's tokens. */
const bumpTokenVersion = (account: Account) =>
  api.db
    .update(users)
    .set({ tokenVersion: sql`${users.tokenVersion} + 1` })
    .where(eq(users.username, account.username));

const ownWrites = {
  "POST /api/me/password": (account: Account) =>
    api.send(
      "POST",
      "/api/me/password",
      { current_password: account.password, new_password: `${account.password}-renewed` },
      account.token,
    ),
  "DELETE /api/me": (account: Account) =>
    api.send("DELETE", "/api/me", { password: account.password }, account.token),
};

describe.each(Object.entries(ownWrites))("%s with the right password", (_name, write) => {
  /** The row (password hash, token version…) as it stood, but for what the test changed. */
  async function expectUnchanged(
    before: Awaited<ReturnType<typeof snapshot>>,
    changed: Partial<NonNullable<typeof before.row>>,
    audited: object[] = [],
  ) {
    const after = await snapshot(before.row?.id ?? 0);
    expect(after.row, "the account is still there, as the test left it").toEqual({
      ...before.row,
      ...changed,
    });
    expect(after.sessions).toEqual(before.sessions);
    const entries = await entriesSince(before.lastAudit);
    expect(entries.map(({ action, targetId, detail }) => ({ action, targetId, detail }))).toEqual(
      audited,
    );
  }

  it("is refused (429) and changes nothing when the name is locked while the password is checked", async () => {
    const account = await api.signedIn();
    const before = await snapshot((await rowOf(api, account.username)).id);
    const res = await interleaved(
      () => write(account),
      async () => expect(await lockName(account)).toHaveLength(1),
    );
    expect(await expectRateLimited(res, LOCKED_OUT)).toBe(60);
    await expectUnchanged(before, {});
    // The lock stands: the write did not clear it either.
    const [throttle] = await api.db
      .select()
      .from(loginThrottles)
      .where(sql`${loginThrottles.key} = 'login:' || lower(${account.username})`);
    expect(throttle?.failures).toBe(5);
  });

  it("is refused (401) and changes nothing when the account is deactivated meanwhile", async () => {
    const account = await api.signedIn();
    const before = await snapshot((await rowOf(api, account.username)).id);
    const res = await interleaved(
      () => write(account),
      () => deactivate(account),
    );
    await expectUnauthorized(res);
    await expectUnchanged(before, { active: false });
  });

  it("is refused (401) and changes nothing when the token version changes meanwhile", async () => {
    const account = await api.signedIn();
    const before = await snapshot((await rowOf(api, account.username)).id);
    const res = await interleaved(
      () => write(account),
      () => bumpTokenVersion(account),
    );
    await expectUnauthorized(res);
    await expectUnchanged(before, { tokenVersion: (before.row?.tokenVersion ?? 0) + 1 });
  });
});

describe("a login whose right password is withheld by a lockout made meanwhile", () => {
  it("is 429, starts no session, and is audited as login.throttled (lockout)", async () => {
    const account = await api.signedIn();
    const id = (await rowOf(api, account.username)).id;
    const before = await snapshot(id);
    const res = await interleaved(
      () => login(api, account.username, account.password),
      async () => expect(await lockName(account)).toHaveLength(1),
    );
    expect(await expectRateLimited(res, LOCKED_OUT)).toBe(60);
    const after = await snapshot(id);
    expect(after.row).toEqual(before.row);
    expect(after.sessions).toEqual(before.sessions);
    const entries = await entriesSince(before.lastAudit);
    expect(entries).toEqual([
      expect.objectContaining({
        action: "login.throttled",
        detail: "lockout",
        targetId: id,
        targetUsername: account.username,
        actorId: null,
      }),
    ]);
  });
});
