import { eq } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import { openPostgres } from "../../src/node/database";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { createTestApi, type NodeTestApi } from "../support/node-api";
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

type Timed = { label: string; res: Response; ms: number };

/** What every outage test sends: readiness, a login, an authenticated read and an admin update. */
async function essentialRequests() {
  const user = await api.signedIn();
  const admin = await api.signedIn({ role: "ADMIN" });
  return (): Promise<Response>[] => [
    api.request("/ready"),
    api.send("POST", "/api/user/login", { username: user.username, password: user.password }),
    api.send("GET", `/api/user/${user.username}`, undefined, user.token),
    api.send("PUT", `/api/user/${user.username}`, { first_name: "Outage" }, admin.token),
  ];
}

const LABELS = ["GET /ready", "POST login", "GET user", "PUT user"];

/** Sends the requests `start` makes and times each from just before they were sent. */
async function timed(start: () => Promise<Response>[]): Promise<Timed[]> {
  const started = Date.now();
  return Promise.all(
    start().map(async (pending, i) => {
      const res = await pending;
      return { label: `${LABELS[i % LABELS.length]} #${i}`, res, ms: Date.now() - started };
    }),
  );
}

async function expectUnavailableInTime(results: Timed[]) {
  for (const { label, res, ms } of results) {
    expect(res.status, label).toBe(503);
    expect(ms, `${label} took ${ms} ms`).toBeLessThan(BOUND_MS);
    const text = await res.text();
    expect(JSON.parse(text), label).toEqual({
      msg: expect.any(String),
      code: "SERVICE_UNAVAILABLE",
    });
    expect(text).not.toMatch(/ECONN|postgres|CONNECT_TIMEOUT|127\.0\.0\.1/i);
  }
}

async function expectHealthy(results: Timed[]) {
  for (const { label, res, ms } of results) {
    expect(res.status, `${label}: ${await res.clone().text()}`).toBe(200);
    expect(ms, `${label} took ${ms} ms`).toBeLessThan(BOUND_MS);
  }
}

describe("database unreachable: 503 SERVICE_UNAVAILABLE within 5 s", () => {
  it("when connections are refused", async () => {
    const requests = await essentialRequests();
    await proxy.cut();
    await expectUnavailableInTime(await timed(requests));
  });

  it("when the server accepts connections and never answers", async () => {
    const requests = await essentialRequests();
    await proxy.blackhole();
    await expectUnavailableInTime(await timed(requests));
  });

  it("when established connections go silent (a network partition)", async () => {
    const requests = await essentialRequests();
    await proxy.freeze();
    await expectUnavailableInTime(await timed(requests));
  });

  it("with more concurrent requests than the pool has connections", async () => {
    const requests = await essentialRequests();
    await proxy.blackhole();
    const burst = () => Array.from({ length: 4 }, () => requests()).flat();
    await expectUnavailableInTime(await timed(burst));
  });

  it("GET /health stays 200 meanwhile: liveness does not touch the database", async () => {
    await proxy.cut();
    const started = Date.now();
    const res = await api.request("/health");
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe("recovery without a restart", () => {
  it("after refused connections, the same requests succeed once the database is back", async () => {
    const requests = await essentialRequests();
    await proxy.cut();
    await expectUnavailableInTime(await timed(requests));
    await proxy.restore();
    await expectHealthy(await timed(requests));
  });

  it("after a long outage with many failed attempts, recovery is prompt", async () => {
    const requests = await essentialRequests();
    await proxy.cut();
    for (let round = 0; round < 5; round++) {
      await expectUnavailableInTime(await timed(requests));
    }
    await proxy.restore();
    await expectHealthy(await timed(requests));
  });

  it("after a blackhole, the same requests succeed once the database is back", async () => {
    const requests = await essentialRequests();
    await proxy.blackhole();
    await expectUnavailableInTime(await timed(requests));
    await proxy.restore();
    await expectHealthy(await timed(requests));
  });

  it("after a partition, the same requests succeed once the network heals", async () => {
    const requests = await essentialRequests();
    await proxy.freeze();
    await expectUnavailableInTime(await timed(requests));
    await proxy.restore();
    await expectHealthy(await timed(requests));
  });

  it("writes made after recovery are stored", async () => {
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
