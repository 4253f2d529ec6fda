import net from "node:net";
import { isCacheable, uncacheableFunctions } from "./hyperdrive-rules";

/**
 * A local stand-in for Hyperdrive's query cache, a Postgres wire-protocol proxy: what a statement
 * that its documented rules cache (hyperdrive-rules.ts) returns is kept for `maxAgeSeconds`,
 * keyed by the statement's text and parameters, and every later run of it within that time gets
 * the kept rows instead of the database's. Everything is still forwarded, so the database's
 * state (prepared statements, transactions) is exactly what the client believes it is; only the
 * rows a cached statement returns are replaced. (`wrangler dev` and Miniflare do no caching.)
 */
export type HyperdriveStandIn = {
  readonly port: number;
  /** The texts of the cacheable statements that passed through, in the order first seen. */
  cacheableStatements(): string[];
  /** How many answers came from the cache. */
  readonly hits: number;
  close(): Promise<void>;
};

type Message = { type: string; body: Buffer; raw: Buffer };

/**
 * Splits a protocol stream into messages, handed to `onMessage` in order; while `untyped()` holds
 * (the client's start-up), messages carry no type byte.
 */
function reader(untyped: () => boolean, onMessage: (message: Message) => void) {
  let pending = Buffer.alloc(0);
  return (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const typed = !untyped();
      const header = typed ? 5 : 4;
      if (pending.length < header) return;
      const length = pending.readInt32BE(typed ? 1 : 0) + (typed ? 1 : 0);
      if (pending.length < length) return;
      const raw = pending.subarray(0, length);
      pending = pending.subarray(length);
      const type = typed ? String.fromCharCode(raw[0] as number) : "";
      onMessage({ type, body: raw.subarray(header), raw });
    }
  };
}

const cstring = (body: Buffer, at: number) => {
  const end = body.indexOf(0, at);
  return { text: body.toString("utf8", at, end), next: end + 1 };
};

/** What one client message awaits from the server, and what ends it. */
type Slot = {
  ends: string;
  /** The cache key of an Execute or a simple Query that may be cached. */
  key?: string;
  held: Buffer[];
  failed?: boolean;
};

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;

export async function startHyperdriveStandIn(options: {
  target: { host: string; port: number };
  /** Where the catalog of volatile and stable functions is read (the same server). */
  databaseUrl: string;
  maxAgeSeconds?: number;
}): Promise<HyperdriveStandIn> {
  const uncacheable = await uncacheableFunctions(options.databaseUrl);
  const maxAgeMs = (options.maxAgeSeconds ?? 60) * 1000;
  const cache = new Map<string, { at: number; reply: Buffer }>();
  const seen = new Set<string>();
  const sockets = new Set<net.Socket>();
  let hits = 0;

  // The Worker's statements are a small fixed set: each is judged once.
  const judged = new Map<string, boolean>();
  const cacheable = (text: string | undefined) => {
    if (text === undefined) return false;
    let verdict = judged.get(text);
    if (verdict === undefined) {
      verdict = isCacheable(text, uncacheable);
      judged.set(text, verdict);
    }
    if (verdict) seen.add(text);
    return verdict;
  };

  const server = net.createServer((client) => {
    const upstream = net.connect(options.target.port, options.target.host);
    for (const socket of [client, upstream]) {
      // Answers go out in pieces; Nagle's algorithm would hold each piece for an ACK.
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => socket.destroy());
    }
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());

    let startup = true;
    let sslAnswers = 0;
    // After TLS or GSS encryption is accepted the bytes are opaque: only forwarded.
    let opaque = false;
    const statements = new Map<string, string>();
    const portals = new Map<string, { text?: string; key: string }>();
    const slots: Slot[] = [];
    const slot = (ends: string, key?: string) => slots.push({ ends, key, held: [] });

    const fromClient = reader(() => startup, onClientMessage);
    client.on("data", (chunk: Buffer) => {
      if (!opaque) fromClient(chunk);
      upstream.write(chunk);
    });

    function onClientMessage({ type, body }: Message) {
      if (type === "") {
        const code = body.readInt32BE(0);
        if (code === SSL_REQUEST || code === GSS_REQUEST) sslAnswers++;
        else startup = false;
        return;
      }
      if (type === "Q") {
        const text = cstring(body, 0).text;
        slot("Z", cacheable(text) ? `Q\0${text}` : undefined);
      } else if (type === "P") {
        const name = cstring(body, 0);
        statements.set(name.text, cstring(body, name.next).text);
        slot("1");
      } else if (type === "B") {
        const portal = cstring(body, 0);
        const statement = cstring(body, portal.next);
        const text = statements.get(statement.text);
        // The parameters and the formats asked for, byte for byte.
        const key = `B\0${text}\0${body.subarray(statement.next).toString("hex")}`;
        portals.set(portal.text, { text, key });
        slot("2");
      } else if (type === "D") {
        slot("Tn");
      } else if (type === "E") {
        const portal = portals.get(cstring(body, 0).text);
        slot("CIs", cacheable(portal?.text) ? portal?.key : undefined);
      } else if (type === "C") {
        slot("3");
      } else if (type === "S") {
        slot("Z");
      }
    }

    const fromServer = reader(() => false, onServerMessage);
    // What one chunk from the server turns into, sent to the client as one write.
    let out: Buffer[] = [];
    const send = (bytes: Buffer) => void out.push(bytes);
    const flush = () => {
      if (out.length > 0) client.write(Buffer.concat(out));
      out = [];
    };
    upstream.on("data", (chunk: Buffer) => {
      receive(chunk);
      flush();
    });
    function receive(chunk: Buffer) {
      if (opaque) return send(chunk);
      let bytes = chunk;
      while (sslAnswers > 0 && bytes.length > 0) {
        sslAnswers--;
        const answer = String.fromCharCode(bytes[0] as number);
        if (answer === "S" || answer === "G") opaque = true;
        send(bytes.subarray(0, 1));
        bytes = bytes.subarray(1);
        if (opaque) return send(bytes);
      }
      fromServer(bytes);
    }

    function onServerMessage(message: Message) {
      const head = slots[0];
      // Notices, parameter changes and notifications may come at any time.
      if (!head || "NSA".includes(message.type)) return void send(message.raw);
      if (message.type === "E" && head.ends !== "Z") {
        send(Buffer.concat([...head.held, message.raw]));
        // The server skips everything up to the next Sync.
        while (slots.length > 0 && (slots[0] as Slot).ends !== "Z") slots.shift();
        return;
      }
      if (head.key === undefined || head.failed) {
        send(message.raw);
      } else if (message.type === "E") {
        head.failed = true;
        send(Buffer.concat([...head.held, message.raw]));
        head.held = [];
      } else if (head.ends.includes(message.type) && message.type !== "I" && message.type !== "s") {
        // A complete answer: the kept one if still fresh, else this one, kept from now on.
        const last = head.ends === "Z" ? [] : [message.raw];
        const reply = Buffer.concat([...head.held, ...last]);
        const kept = cache.get(head.key);
        if (kept && Date.now() - kept.at < maxAgeMs) {
          hits++;
          send(kept.reply);
        } else {
          cache.set(head.key, { at: Date.now(), reply });
          send(reply);
        }
        if (head.ends === "Z") send(message.raw);
      } else if (head.ends.includes(message.type)) {
        send(Buffer.concat([...head.held, message.raw]));
      } else {
        head.held.push(message.raw);
        return;
      }
      if (head.ends.includes(message.type)) slots.shift();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    cacheableStatements: () => [...seen],
    get hits() {
      return hits;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
