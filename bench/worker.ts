// The Worker in `npm run bench`: the API's Worker and a bare one (bench/bare-worker/worker.ts) in
// one workerd, as `wrangler dev` runs them (Miniflare, wrangler's own copy), each on a socket of
// its own and both on the same local Hyperdrive binding: Miniflare's, a TCP proxy in this process
// that opens a new connection to Postgres for every connection the Worker opens.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuiltWorker, bundleWorker } from "../tests/support/worker-bundle";
import { childrenNamed, cpuSeconds, exitedChildrenCpuSeconds } from "./cpu";
import { type LoadResult, runLoad } from "./load";
import { medianResult } from "./measure";
import { ROOT } from "./processes";
import type { Account } from "./seed";
import { median } from "./stats";
import { loginRequests, readUser } from "./workloads";

type MiniflareInstance = {
  ready: Promise<URL>;
  unsafeGetDirectURL(workerName?: string): Promise<URL>;
  dispose(): Promise<void>;
};
type MiniflareClass = new (options: Record<string, unknown>) => MiniflareInstance;

export type Workers = {
  /** The API's Worker and the bare one, each on its own socket of the same workerd. */
  api: string;
  bare: string;
  /** workerd's process, whose CPU time both Workers' requests add to. */
  pid: number;
  stop(): Promise<void>;
};

/**
 * Miniflare's local Hyperdrive is a proxy in this process: a net server whose listener connects
 * to Postgres (net.connect) before its first await, then pipes both ways, with no error listener
 * on either socket, so a connection reset when workerd stops would crash the bench. While this is
 * in place (from before Miniflare starts until it is ready), every server created gets a listener
 * that adds one to each connection and to the one it opens, and the server is kept, to be closed
 * at the end (Miniflare's dispose leaves it listening, which keeps the bench's process alive). Nothing else changes: Nagle's
 * algorithm stays on, as in `wrangler dev` (turning it off changed nothing measurable).
 * Returns the undo, and the means to destroy every socket left.
 */
function guardLocalHyperdrive() {
  const sockets = new Set<net.Socket>();
  const servers: net.Server[] = [];
  const guarded = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    return socket.on("error", () => {});
  };
  const patched = net as unknown as Record<string, unknown>;
  const createServer = net.createServer;
  patched.createServer = (...args: unknown[]) => {
    const listener = args.find((a) => typeof a === "function") as
      | ((socket: net.Socket) => void)
      | undefined;
    const server = createServer((socket) => {
      const connect = net.connect;
      patched.connect = (...a: unknown[]) =>
        guarded((connect as (...b: unknown[]) => net.Socket)(...a));
      try {
        listener?.(guarded(socket));
      } finally {
        patched.connect = connect;
      }
    });
    servers.push(server);
    return server;
  };
  return {
    unpatch: () => {
      patched.createServer = createServer;
    },
    /** Closes the proxy and what is left of its connections: Miniflare leaves it listening. */
    destroyAll: () => {
      for (const server of servers) server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** Miniflare refuses a Hyperdrive URL without a password, even for a server that asks none. */
function withPassword(url: string) {
  const u = new URL(url);
  if (!u.password) u.password = "unused";
  return u.toString();
}

/**
 * Bundles both Workers (as `npm run deploy` would) and starts them in one workerd. The API's
 * Worker answers 500 without MFA_ENCRYPTION_KEY (the Node API's key when given) and, in
 * production, without APP_URL and EMAIL_VERIFY_URL.
 */
export async function startWorkers(
  databaseUrl: string,
  secret: string,
  mfaEncryptionKey = randomBytes(32).toString("base64"),
): Promise<Workers> {
  const dir = await mkdtemp(join(tmpdir(), "bench-workers-"));
  const [app, bare] = await Promise.all([
    bundleWorker(join(dir, "api")),
    bundleWorker(join(dir, "bare"), { config: join(ROOT, "bench/bare-worker/wrangler.toml") }),
  ]);
  const { Miniflare } = (await import(app.miniflarePath)) as { Miniflare: MiniflareClass };
  const hyperdrives = { HYPERDRIVE: withPassword(databaseUrl) };
  const worker = (name: string, built: BuiltWorker, bindings: Record<string, string>) => ({
    name,
    modules: built.modules,
    modulesRoot: built.modulesRoot,
    compatibilityDate: built.compatibilityDate,
    compatibilityFlags: built.compatibilityFlags,
    bindings,
    hyperdrives,
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  });
  const { unpatch, destroyAll } = guardLocalHyperdrive();
  const mf = new Miniflare({
    workers: [
      worker("api", app, {
        ...app.vars,
        JWT_SECRET_KEY: secret,
        MFA_ENCRYPTION_KEY: mfaEncryptionKey,
        APP_URL: "http://127.0.0.1/reset-password?token=",
        EMAIL_VERIFY_URL: "http://127.0.0.1/verify-email?token=",
      }),
      worker("bare", bare, { JWT_SECRET_KEY: secret }),
    ],
    host: "127.0.0.1",
    port: 0,
    cf: false,
    // The access log's lines (one per request, as in production) go nowhere.
    handleStructuredLogs: () => {},
  });
  const stop = async () => {
    await mf.dispose().catch(() => {});
    destroyAll();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await mf.ready;
    unpatch();
    const [pid] = childrenNamed("workerd");
    if (pid === undefined) throw new Error("no workerd process found");
    const [apiUrl, bareUrl] = await Promise.all([
      mf.unsafeGetDirectURL("api"),
      mf.unsafeGetDirectURL("bare"),
    ]);
    return { api: apiUrl.origin, bare: bareUrl.origin, pid, stop };
  } catch (error) {
    unpatch();
    await stop();
    throw error;
  }
}

/**
 * A load run with the CPU time spent per request (µs) over it: by workerd, and by the Postgres
 * backends that exited meanwhile (the local Hyperdrive opens one per connection the Worker opens;
 * other clients' backends exiting meanwhile count too).
 */
export type CpuLoad = LoadResult & { cpuUs: number; postgresUs: number };

async function withCpu(
  pids: { workerd: number; postmaster?: number },
  load: () => Promise<LoadResult>,
): Promise<CpuLoad> {
  const postgres = () =>
    pids.postmaster === undefined ? Number.NaN : exitedChildrenCpuSeconds(pids.postmaster);
  const before = { workerd: cpuSeconds(pids.workerd), postgres: postgres() };
  const result = await load();
  const requests = Math.max(1, result.ok + result.failed);
  return {
    ...result,
    cpuUs: ((cpuSeconds(pids.workerd) - before.workerd) * 1e6) / requests,
    postgresUs: ((postgres() - before.postgres) * 1e6) / requests,
  };
}

const medianCpu = (runs: CpuLoad[]): CpuLoad => ({
  ...medianResult(runs),
  cpuUs: median(runs.map((r) => r.cpuUs)),
  postgresUs: median(runs.map((r) => r.postgresUs)),
});

export type WorkerFigures = {
  read: { api: CpuLoad; bare: CpuLoad };
  login: { api: CpuLoad; bare: CpuLoad };
};

/**
 * W1 (the self-read, with a token from the API's login) at 10 connections and logins at 4, on
 * the API's Worker and the bare one in turn, after a warm-up run of each (isolates, compiled
 * code, argon2's wasm instance), `rounds` times; medians per side. `postmaster`: the local
 * Postgres server's main process, when it runs on this machine.
 */
export async function measureWorkers(
  workers: Workers,
  options: {
    rounds: number;
    duration: number;
    self: Account;
    token: string;
    accounts: Account[];
    postmaster?: number;
  },
): Promise<WorkerFigures> {
  const { rounds, duration } = options;
  const pids = { workerd: workers.pid, postmaster: options.postmaster };
  const read = (url: string) => () =>
    runLoad({
      url,
      connections: 10,
      duration,
      requests: readUser(options.self.username, options.token),
    });
  // The Worker takes the client address from CF-Connecting-IP: a new one per login, so the
  // per-IP limiter runs its query every time and never refuses.
  const login = (url: string) => () =>
    runLoad({
      url,
      connections: 4,
      duration,
      requests: loginRequests(options.accounts, "cf-connecting-ip"),
    });
  const inTurn = async (a: () => Promise<LoadResult>, b: () => Promise<LoadResult>) => {
    await a();
    await b();
    const as: CpuLoad[] = [];
    const bs: CpuLoad[] = [];
    for (let i = 0; i < rounds; i++) {
      as.push(await withCpu(pids, a));
      bs.push(await withCpu(pids, b));
    }
    return { api: medianCpu(as), bare: medianCpu(bs) };
  };
  return {
    read: await inTurn(read(workers.api), read(workers.bare)),
    login: await inTurn(login(workers.api), login(workers.bare)),
  };
}

/** The main process of the Postgres server behind `sql`, when it runs on this machine. */
export async function localPostmaster(sql: {
  unsafe(query: string): Promise<unknown>;
}): Promise<number | undefined> {
  const rows = (await sql.unsafe("select pg_backend_pid() as pid")) as { pid: number }[];
  const backend = rows[0]?.pid;
  try {
    const stat = readFileSync(`/proc/${backend}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}
