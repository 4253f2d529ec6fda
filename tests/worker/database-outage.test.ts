import net from "node:net";
import { afterAll, afterEach, beforeAll, describe, it } from "vitest";
import { LOCAL_POSTGRES } from "../support/database";
import {
  expectOutageHandled,
  expectRegistrationsWhole,
  loseDatabaseUnderLoad,
} from "../support/outage-load";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";
import { createWorkerApi } from "../support/worker-api";

// The Worker's Hyperdrive binding goes through a proxy the test can cut; the test itself reads the
// database directly. The local Hyperdrive emulation of the pinned wrangler (miniflare's
// HyperdriveProxyController, running in this process) pipes each connection to the database
// through a socket without an error listener, so a connection the database resets or refuses
// throws here: while this file runs, sockets get the listener it lacks (the Worker then sees
// that connection go silent). For the same reason a refused connection looks to the Worker like
// one that never answers, so the cut it gets is the orderly close.
const connect = net.connect;
let proxy: TcpProxy;
let api: Awaited<ReturnType<typeof createWorkerApi>>;
beforeAll(async () => {
  net.connect = ((...args: Parameters<typeof connect>) =>
    connect(...args).on("error", () => {})) as typeof connect;
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
  net.connect = connect;
});

const restore = (p: TcpProxy) => p.restore();

describe("the Worker losing its database under a steady mixed load (reads, logins, registrations, updates)", () => {
  it.each([
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
        loopsPerKind: 2,
      });
      const figures = expectOutageHandled(run);
      const registrations = await expectRegistrationsWhole(api, api.db, run.outcomes);
      console.log(
        JSON.stringify({ runtime: "worker", outage: label, ...figures, ...registrations }),
      );
    },
  );
});
