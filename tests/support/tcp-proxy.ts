import net from "node:net";

/**
 * How the proxy treats traffic: `open` forwards it; `refused` stops listening (ECONNREFUSED);
 * `dropping` closes every connection (FIN), new ones as soon as they are accepted; `blackholed`
 * accepts connections and never answers; `frozen` is a network partition: bytes on established
 * connections are dropped and new connections are accepted but never answered.
 */
export type ProxyMode = "open" | "refused" | "dropping" | "blackholed" | "frozen";

/** A TCP proxy in front of a server (Postgres) that a test can cut and restore. */
export type TcpProxy = {
  readonly port: number;
  readonly mode: ProxyMode;
  /** Destroys every connection and refuses new ones. */
  cut(): Promise<void>;
  /** Closes every connection in an orderly way (FIN, no RST), new ones as soon as accepted. */
  drop(): Promise<void>;
  /** Destroys every connection; new ones are accepted but never answered. */
  blackhole(): Promise<void>;
  /** Keeps every connection but silently drops its bytes; new ones are never answered. */
  freeze(): Promise<void>;
  /** Forwards again; connections held or frozen meanwhile are reset so clients reconnect. */
  restore(): Promise<void>;
  /**
   * Forwards new connections again, but those frozen meanwhile stay silent for ever, as when the
   * partition dropped their state (a NAT or firewall forgot them, the server failed over).
   */
  restoreNewOnly(): Promise<void>;
  close(): Promise<void>;
};

/** Starts a proxy on an ephemeral 127.0.0.1 port forwarding to `target`. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: ProxyMode = "open";
  const sockets = new Set<net.Socket>();
  // Connections that never forward again (see restoreNewOnly).
  const lost = new WeakSet<net.Socket>();

  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    return socket;
  };

  const server = net.createServer((client) => {
    track(client);
    if (mode === "dropping") return void client.end();
    // Not forwarding: the client sees a server that accepted it and then says nothing.
    if (mode !== "open") return;
    const upstream = track(net.connect(target.port, target.host));
    const forward = (from: net.Socket, to: net.Socket) => {
      from.on("data", (chunk) => {
        if (mode === "open" && !lost.has(from)) to.write(chunk);
      });
      from.on("close", () => (mode === "dropping" ? to.end() : to.destroy()));
    };
    forward(client, upstream);
    forward(upstream, client);
  });

  const destroyAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });

  let port = 0;
  await listen();
  port = (server.address() as net.AddressInfo).port;

  return {
    get port() {
      return port;
    },
    get mode() {
      return mode;
    },
    async cut() {
      mode = "refused";
      const closed = stopListening();
      destroyAll();
      await closed;
    },
    async drop() {
      mode = "dropping";
      for (const socket of sockets) socket.end();
      if (!server.listening) await listen();
    },
    async blackhole() {
      mode = "blackholed";
      destroyAll();
      if (!server.listening) await listen();
    },
    async freeze() {
      mode = "frozen";
      if (!server.listening) await listen();
    },
    async restore() {
      if (mode === "open") return;
      destroyAll();
      mode = "open";
      if (!server.listening) await listen();
    },
    async restoreNewOnly() {
      for (const socket of sockets) lost.add(socket);
      mode = "open";
      if (!server.listening) await listen();
    },
    async close() {
      mode = "refused";
      const closed = stopListening();
      destroyAll();
      await closed;
    },
  };
}
