import net from "node:net";
import { sleep } from "./stats";

/**
 * A TCP proxy in front of Postgres that counts database round trips (adapted from
 * tests/support/tcp-proxy.ts). Per connection, a burst of client→server bytes that follows
 * server→client bytes (or opens the connection) is one round trip: the client had to wait for an
 * answer before it could say more. Several messages sent together (postgres.js sends
 * Parse/Bind/Execute/Sync in one write; a pipeline) count once; queries on two connections at
 * once count twice.
 */
export type CountingProxy = {
  readonly port: number;
  /** Round trips so far, over every connection. */
  roundTrips(): number;
  /** Resolves once no byte has crossed the proxy for `ms` (the app's background work is done). */
  quiet(ms: number): Promise<void>;
  close(): Promise<void>;
};

export async function startCountingProxy(target: {
  host: string;
  port: number;
}): Promise<CountingProxy> {
  let roundTrips = 0;
  let lastTraffic = performance.now();
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    return socket;
  };

  const server = net.createServer((client) => {
    track(client);
    const upstream = track(net.connect(target.port, target.host));
    // Who spoke last on this connection; a client burst after the server spoke is a new trip.
    let lastSpeaker: "client" | "server" | undefined;
    client.on("data", (chunk) => {
      lastTraffic = performance.now();
      if (lastSpeaker !== "client") roundTrips++;
      lastSpeaker = "client";
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      lastTraffic = performance.now();
      lastSpeaker = "server";
      client.write(chunk);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;

  return {
    port,
    roundTrips: () => roundTrips,
    async quiet(ms) {
      for (;;) {
        const idle = performance.now() - lastTraffic;
        if (idle >= ms) return;
        await sleep(ms - idle + 1);
      }
    },
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
