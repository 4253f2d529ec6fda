import { and, eq, gt, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectRows } from "../../src/db/database";
import { auditLog } from "../../src/db/schema";
import { login } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";
import { expectRateLimited } from "../support/session-helpers";

// A client's password checks refused by RATE_LIMIT_LOGIN are audited as login.throttled (detail
// rate_limit) once per window: by the first refusal, which says the client went over; the later
// ones would only let it fill the log.

// A day-long window: a window boundary inside the test is then practically impossible on the
// Worker's real clock.
const LIMIT = 2;

let api: ContractApi;
beforeAll(async () => {
  api = await startApi({ env: { RATE_LIMIT_LOGIN: `${LIMIT}/86400` } });
});
afterAll(() => api.close());

async function lastAuditId() {
  const [row] = await selectRows<{ id: string | null }>(
    api.db,
    sql`select max(id)::text as id from audit_log`,
  );
  return Number(row?.id ?? 0);
}

const rateLimitEntriesSince = (id: number) =>
  api.db
    .select()
    .from(auditLog)
    .where(
      and(
        gt(auditLog.id, id),
        eq(auditLog.action, "login.throttled"),
        eq(auditLog.detail, "rate_limit"),
      ),
    );

describe("a client over RATE_LIMIT_LOGIN", () => {
  it("is audited by its first refusal, and only by that one", async () => {
    const user = await api.createUser();
    const start = await lastAuditId();
    for (let i = 0; i < LIMIT; i++) {
      expect((await login(api, user.username, user.password)).status).toBe(200);
    }
    expect(await rateLimitEntriesSince(start), "no entry before any refusal").toEqual([]);

    await expectRateLimited(await login(api, user.username, user.password));
    const first = await rateLimitEntriesSince(start);
    expect(first, "the first refusal's entry").toEqual([
      expect.objectContaining({
        action: "login.throttled",
        detail: "rate_limit",
        actorId: null,
        targetId: null,
        ip: expect.stringMatching(/^\S+$/),
      }),
    ]);

    // Later refusals in the window, with a wrong password or the right one: no more entries.
    await expectRateLimited(await login(api, user.username, "a wrong guess"));
    await expectRateLimited(await login(api, user.username, user.password));
    expect(await rateLimitEntriesSince(start)).toEqual(first);
  });
});
