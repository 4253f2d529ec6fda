import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_POSTGRES } from "../support/database";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";
import { createWorkerApi } from "../support/worker-api";

// The contract's bound for an unreachable database: an answer, not a hung request.
const BOUND_MS = 5000;

// The Worker's Hyperdrive binding goes through a proxy the test can silence; the test itself reads
// the database directly. Only silence, not refusal: the local Hyperdrive emulation of the pinned
// wrangler (its miniflare) crashes its own process on a refused connection, a local-development
// limitation that Hyperdrive in production does not share.
let proxy: TcpProxy;
let api: Awaited<ReturnType<typeof createWorkerApi>>;
beforeAll(async () => {
  const server = new URL(process.env.TEST_DATABASE_URL ?? LOCAL_POSTGRES);
  proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
  api = await createWorkerApi({
    hyperdriveUrl(databaseUrl) {
      const url = new URL(databaseUrl);
      url.hostname = "127.0.0.1";
      url.port = String(proxy.port);
      return url.toString();
    },
  });
});
afterEach(() => proxy?.restore());
afterAll(async () => {
  await api?.close();
  await proxy?.close();
});

/** Readiness, a login, an authenticated read and an admin update, all sent at once. */
async function essentialRequests() {
  const user = await api.signedIn();
  const admin = await api.signedIn({ role: "ADMIN" });
  return () => {
    const started = Date.now();
    const timed = async (label: string, pending: Promise<Response>) => {
      const res = await pending;
      return { label, res, ms: Date.now() - started };
    };
    return Promise.all([
      timed("GET /ready", api.request("/ready")),
      timed(
        "POST login",
        api.send("POST", "/api/user/login", { username: user.username, password: user.password }),
      ),
      timed("GET user", api.send("GET", `/api/user/${user.username}`, undefined, user.token)),
      timed(
        "PUT user",
        api.send("PUT", `/api/user/${user.username}`, { first_name: "Outage" }, admin.token),
      ),
    ]);
  };
}

describe("the Worker with its database unreachable", () => {
  it("answers 503 SERVICE_UNAVAILABLE within 5 s when the database never answers", async () => {
    const send = await essentialRequests();
    await proxy.blackhole();
    for (const { label, res, ms } of await send()) {
      expect(res.status, label).toBe(503);
      expect(ms, `${label} took ${ms} ms`).toBeLessThan(BOUND_MS);
      expect(res.headers.get("retry-after"), label).toBeTruthy();
      const text = await res.text();
      expect(JSON.parse(text), label).toEqual({
        msg: expect.any(String),
        code: "SERVICE_UNAVAILABLE",
      });
      expect(text).not.toMatch(/ECONN|postgres|CONNECT_TIMEOUT|hyperdrive|127\.0\.0\.1/i);
    }
  });

  it("keeps GET /health at 200 meanwhile: liveness does not touch the database", async () => {
    await proxy.blackhole();
    const started = Date.now();
    expect((await api.request("/health")).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("recovers by itself when the database is back", async () => {
    const send = await essentialRequests();
    await proxy.blackhole();
    for (const { res } of await send()) expect(res.status).toBe(503);
    await proxy.restore();
    for (const { label, res } of await send()) {
      expect(res.status, `${label}: ${await res.clone().text()}`).toBe(200);
    }
    expect((await api.userRow((await api.createUser()).username))?.active).toBe(true);
  });
});
