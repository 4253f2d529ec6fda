import { eq } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import { serviceUnavailable } from "../../src/errors";
import { openPostgres } from "../../src/node/database";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { createTestApi, type NodeTestApi } from "../support/node-api";
import {
  expectOutageHandled,
  expectRegistrationsWhole,
  loseDatabaseUnderLoad,
} from "../support/outage-load";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";

// The contract's bound for an unreachable database: an answer, not a hung request.
const BOUND_MS = 5000;

let proxy: TcpProxy;
let api: NodeTestApi;
let directUrl: string;
let real: TestDatabase;

beforeAll(async () => {
  // PGlite has no network to cut: this file always runs on a Postgres server.
  real = await createTestDatabase({ needsServer: true });
  directUrl = real.url as string;
  const url = new URL(directUrl);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
  url.hostname = "127.0.0.1";
  url.port = String(proxy.port);
  // The app's own pool settings (openPostgres defaults), only reached through the proxy.
  const proxied = openPostgres(url.toString());
  const database: TestDatabase = {
    ...proxied,
    url: url.toString(),
    async drop() {
      await proxied.close();
      await real.drop();
    },
  };
  api = await createTestApi({ database });
});

afterEach(() => proxy?.restore());

afterAll(async () => {
  await proxy?.restore();
  await api?.close();
  await proxy?.close();
});

async function directRow(username: string) {
  const [row] = await real.db.select().from(users).where(eq(users.username, username));
  return row;
}

const restore = (p: TcpProxy) => p.restore();

describe("database loss under a steady mixed load (reads, logins, registrations, updates)", () => {
  // Three loops of each kind: more requests at once than the pool has connections.
  it.each([
    ["its connections are cut and new ones refused", (p: TcpProxy) => p.cut(), restore],
    ["it closes every connection, new ones at once", (p: TcpProxy) => p.drop(), restore],
    ["it accepts connections and never answers", (p: TcpProxy) => p.blackhole(), restore],
    ["the network between goes silent (a partition)", (p: TcpProxy) => p.freeze(), restore],
    [
      "a partition loses its connections for good",
      (p: TcpProxy) => p.freeze(),
      (p: TcpProxy) => p.restoreNewOnly(),
    ],
  ])(
    "when %s: 503 within 5 s, /health 200, /ready 503, recovery within 5 s, no registration lost or half-written",
    async (label, cut, heal) => {
      const run = await loseDatabaseUnderLoad(api, {
        cut: () => cut(proxy),
        restore: () => heal(proxy),
        loopsPerKind: 3,
      });
      const figures = expectOutageHandled(run);
      // Read directly: the test's view must not depend on the proxied pool.
      const registrations = await expectRegistrationsWhole(api, real.db, run.outcomes);
      console.log(JSON.stringify({ runtime: "node", outage: label, ...figures, ...registrations }));
    },
  );

  it("an update refused during an outage changes nothing; one made after recovery is stored", async () => {
    const user = await api.signedIn();
    const admin = await api.signedIn({ role: "ADMIN" });
    await proxy.cut();
    const during = await api.send(
      "PUT",
      `/api/user/${user.username}`,
      { last_name: "During" },
      admin.token,
    );
    expect(during.status).toBe(503);
    expect(await during.json()).toEqual(serviceUnavailable().body);
    await proxy.restore();
    // Read through a direct connection: the test's view must not depend on the proxied pool.
    expect((await directRow(user.username))?.lastName).toBe("User");
    const after = await api.send(
      "PUT",
      `/api/user/${user.username}`,
      { last_name: "After" },
      admin.token,
    );
    expect(after.status).toBe(200);
    expect((await directRow(user.username))?.lastName).toBe("After");
  });
});

describe("a database that answers too late", () => {
  it("a transaction stuck behind a lock answers 503 in time and commits nothing afterwards", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    // Another client (not through the app) holds the row lock the update needs.
    const holder = postgres(directUrl, { max: 1, onnotice: () => {} });
    try {
      let release = () => {};
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      let holding: Promise<unknown> = Promise.resolve();
      await new Promise<void>((locked) => {
        holding = holder.begin(async (sql) => {
          await sql`select id from users where lower(username) = lower(${user.username}) for update`;
          locked();
          await released;
        });
      });

      const started = Date.now();
      const res = await api.send(
        "PUT",
        `/api/user/${user.username}`,
        { last_name: "Late" },
        admin.token,
      );
      expect(res.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(BOUND_MS);
      expect(await res.json()).toMatchObject({ code: "SERVICE_UNAVAILABLE" });

      release();
      await holding;
      // Takes the same row lock, so it runs after the abandoned transaction has ended.
      const next = await api.send(
        "PUT",
        `/api/user/${user.username}`,
        { first_name: "Next" },
        admin.token,
      );
      expect(next.status).toBe(200);
      expect(await api.userRow(user.username)).toMatchObject({
        firstName: "Next",
        lastName: "User",
      });
    } finally {
      await holder.end({ timeout: 1 });
    }
  });
});
