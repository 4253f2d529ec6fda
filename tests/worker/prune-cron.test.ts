import { fileURLToPath } from "node:url";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { refreshTokens, sessions } from "../../src/db/schema";
import { claimsOf, rowOf, sha256Hex } from "../support/auth-helpers";
import { SEEDED_LIVE, seededKeys, seedPruneRows } from "../support/prune-fixtures";
import {
  expectRefreshRefused,
  LOGGED_OUT,
  loginPair,
  logout,
  refresh,
  refreshPair,
  sessionRowOf,
} from "../support/session-helpers";
import { createWorkerApi } from "../support/worker-api";

// The Worker prunes from its Cron Trigger: wrangler.toml schedules it, and workerd runs the
// bundle's scheduled handler against the test's Postgres through the Hyperdrive binding.

const crons = unstable_readConfig(
  { config: fileURLToPath(new URL("../../wrangler.toml", import.meta.url)) },
  { hideWarnings: true },
).triggers.crons;

let api: Awaited<ReturnType<typeof createWorkerApi>>;
beforeAll(async () => {
  api = await createWorkerApi();
});
afterAll(() => api.close());

describe("the Cron Trigger prunes stale rows", () => {
  it("wrangler.toml schedules it", () => {
    expect(crons).toEqual([expect.stringMatching(/^\S+ \S+ \S+ \S+ \S+$/)]);
  });

  it("deletes the stale rows, keeps the live ones; live sessions refresh and reuse is still theft", async () => {
    const user = await api.createUser();
    const [ended, live, other] = [
      await loginPair(api, user.username, user.password),
      await loginPair(api, user.username, user.password),
      await loginPair(api, user.username, user.password),
    ];
    expect(await (await logout(api, { refresh_token: ended.refresh_token })).json()).toEqual(
      LOGGED_OUT,
    );
    const endedId = claimsOf(ended.access_token).sid as string;
    await api.db
      .update(sessions)
      .set({ revokedAt: sql`now() - interval '1 hour'` })
      .where(eq(sessions.id, endedId));
    // A token consumed a minute ago: past the reuse grace, but not expired.
    const current = await refreshPair(api, live.refresh_token);
    await api.db
      .update(refreshTokens)
      .set({ consumedAt: sql`now() - interval '1 minute'` })
      .where(eq(refreshTokens.tokenHash, await sha256Hex(live.refresh_token)));
    await seedPruneRows(api.db, (await rowOf(api, user.username)).id);

    expect(await api.scheduled(crons[0] as string)).toEqual({ outcome: "ok", noRetry: false });

    expect(await seededKeys(api.db)).toEqual(SEEDED_LIVE);
    expect(await sessionRowOf(api, endedId)).toBeUndefined();
    await expectRefreshRefused(await refresh(api, ended.refresh_token));
    expect((await refresh(api, other.refresh_token)).status).toBe(200);
    await expectRefreshRefused(await refresh(api, live.refresh_token));
    await expectRefreshRefused(await refresh(api, current.refresh_token));
  });
});
