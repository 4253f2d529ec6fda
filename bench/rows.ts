import type { RawRate } from "./argon2-rate";
import type { LoadResult } from "./load";
import type { MemoryResult } from "./memory";
import type { BenchReport, Check, WorkloadRow } from "./report";
import type { StartupResult } from "./startup";
import type { CpuLoad, WorkerFigures } from "./worker";

type Pair = { api: LoadResult; baseline: LoadResult };
/**
 * W1 with the stack's own floor (bench/baseline.ts with BASELINE_SERVER=hono: the baseline's read as a bare Hono app)
 * measured in the same turns, and each server's CPU time per request, µs.
 */
type W1Figures = Pair & {
  floor: LoadResult;
  cpuUs: { api: number; baseline: number; floor: number };
};

/** What the scenario measured, before it is judged against the targets. */
export type Measured = {
  w1: W1Figures;
  w1at50: W1Figures;
  /** The API signing with EdDSA, and the same API with HS256, measured alternately. */
  w1eddsa: { eddsa: LoadResult; hs256: LoadResult };
  w1b: Pair;
  w2: LoadResult;
  /** The baseline's bare login (bench/baseline.ts), in the same turns as W2. */
  w2Bare: LoadResult;
  /**
   * CPU time of the main thread per login, µs: during W2 (8 connections), and with logins sent
   * one at a time, of the API and of the baseline's bare login.
   */
  loginCpuUs: { api: number; baseline: number; apiOneAtATime: number; baselineOneAtATime: number };
  /**
   * W2f (a login with a factor: two requests) and W2 (one), each `operations` whole operations
   * per round through bench/operations.ts, alternately.
   */
  w2f: { factor: LoadResult; plain: LoadResult; operations: number };
  raw: RawRate;
  w3: LoadResult;
  w4: LoadResult;
  memory: MemoryResult;
  startup: StartupResult;
  roundTrips: Map<string, number>;
  /** What verifying one token costs, by kind (bench/token-verify.ts). */
  tokens: Check[];
  /** The API's Worker against the bare one (bench/worker.ts). */
  worker?: WorkerFigures;
  big?: Pair & { users: number };
};

/**
 * Round-trip targets by operation: issue 8's, PUT (admin) from issue 21, and for every other
 * route what it took when issue 21 was filed (no route may get worse).
 */
const ROUND_TRIP_TARGETS: Record<string, number> = {
  register: 3,
  "login (success)": 3,
  "login (wrong password)": 3,
  forget_password: 2,
  reset_password: 3,
  refresh: 2,
  logout: 1,
  "logout all": 2,
  "GET self": 1,
  "GET other (admin)": 2,
  "PUT (admin)": 2,
  // The password policy reads the account's names before argon2, outside the statement.
  "PUT (admin, password)": 3,
  // Issue 18: the verification link is written by PUT's one statement.
  "PUT (admin, email)": 2,
  "DELETE (admin)": 3,
  "GET /api/users (admin)": 3,
  "GET /api/audit (admin)": 2,
  "GET /api/me": 1,
  "PATCH /api/me": 2,
  "POST /api/me/password": 4,
  "POST /api/user/verify_email": 1,
  "POST /api/me/verify_email": 3,
  "POST /api/me/email": 4,
  "DELETE /api/me": 4,
  "/ready": 1,
  "/health": 0,
  "/.well-known/jwks.json": 0,
};

const row = (
  workload: string,
  connections: number,
  r: LoadResult,
  extra: Partial<WorkloadRow> = {},
): WorkloadRow => ({
  workload,
  connections,
  rps: r.rps,
  p50: r.p50,
  p99: r.p99,
  failed: r.failed,
  ratio: null,
  ratioTo: null,
  roundTrips: null,
  target: "",
  holds: null,
  ...extra,
});

/**
 * The API row of an A/B pair (ratio to the baseline; W1's target when `minRatio` is given: issue
 * 21's 0.7 × at 10 connections, 0.8 × at 50) and the baseline's row.
 */
function versusBaseline(
  name: string,
  connections: number,
  pair: Pair,
  roundTrips: number | null,
  minRatio?: number,
) {
  const ratio = pair.api.rps / pair.baseline.rps;
  const holds =
    ratio >= (minRatio ?? 0) && pair.api.p99 <= 2 * pair.baseline.p99 && (roundTrips ?? 0) <= 1;
  return [
    row(name, connections, pair.api, {
      ratio,
      ratioTo: "baseline",
      roundTrips,
      ...(minRatio !== undefined
        ? { target: `≥ ${minRatio} × baseline, p99 ≤ 2 × baseline's, 1 round trip`, holds }
        : {}),
    }),
    row(`baseline: ${name}`, connections, pair.baseline, { roundTrips: 1 }),
  ];
}

/** W1 against the baseline, then the Hono floor's row, measured in the same turns. */
function w1Rows(connections: number, w: W1Figures, roundTrips: number | null, minRatio: number) {
  return [
    ...versusBaseline("W1 self-read", connections, w, roundTrips, minRatio),
    row("Hono floor: W1 self-read (bare Hono app, same query)", connections, w.floor, {
      ratio: w.floor.rps / w.baseline.rps,
      ratioTo: "baseline",
      roundTrips: 1,
    }),
  ];
}

/** W1's CPU time per request of each server, at 10 and 50 connections. */
const w1CpuChecks = (m: Measured): Check[] =>
  (
    [
      [10, m.w1],
      [50, m.w1at50],
    ] as const
  ).flatMap(([connections, w]) =>
    (
      [
        ["the API", w.cpuUs.api],
        ["the Hono floor", w.cpuUs.floor],
        ["the baseline", w.cpuUs.baseline],
      ] as const
    ).map(([who, value]) => ({
      name: `W1 at ${connections} connections: CPU time of ${who} per request`,
      value,
      unit: "µs",
      target: "",
      holds: null,
    })),
  );

/** W1 with EdDSA tokens against the same API with HS256 ones (issue 20: within 5 %). */
function eddsaVersusHs256(pair: Measured["w1eddsa"], roundTrips: number | null) {
  const ratio = pair.eddsa.rps / pair.hs256.rps;
  return [
    row("W1 self-read, EdDSA tokens", 10, pair.eddsa, {
      ratio,
      ratioTo: "HS256",
      roundTrips,
      target: "≥ 0.95 × the API with HS256 tokens",
      holds: ratio >= 0.95,
    }),
    row("HS256: W1 self-read", 10, pair.hs256, { roundTrips }),
  ];
}

/** The API's Worker against the bare Worker: W1 (target 0.7 ×) and login. */
function workerRows(w: WorkerFigures): WorkloadRow[] {
  const versusBare = (
    name: string,
    connections: number,
    pair: WorkerFigures["read"],
    withTarget: boolean,
  ) => {
    const ratio = pair.api.rps / pair.bare.rps;
    return [
      row(`Worker: ${name}`, connections, pair.api, {
        ratio,
        ratioTo: "bare Worker",
        ...(withTarget ? { target: "≥ 0.7 × the bare Worker", holds: ratio >= 0.7 } : {}),
      }),
      row(`bare Worker: ${name}`, connections, pair.bare),
    ];
  };
  return [
    ...versusBare("W1 self-read", 10, w.read, true),
    ...versusBare("login", 4, w.login, false),
  ];
}

/** CPU time per request on the Worker side: workerd's, and Postgres's for the W1 runs. */
function workerCpu(w: WorkerFigures): Check[] {
  const cpu = (name: string, r: CpuLoad, of: "cpuUs" | "postgresUs" = "cpuUs"): Check => ({
    name,
    value: r[of],
    unit: "µs",
    target: "",
    holds: null,
  });
  return [
    cpu("workerd, API Worker, W1 self-read", w.read.api),
    cpu("workerd, bare Worker, W1 self-read", w.read.bare),
    cpu("workerd, API Worker, login", w.login.api),
    cpu("workerd, bare Worker, login", w.login.bare),
    cpu(
      "Postgres backends, API Worker, W1 (one new backend per request locally)",
      w.read.api,
      "postgresUs",
    ),
    cpu("Postgres backends, bare Worker, W1", w.read.bare, "postgresUs"),
  ];
}

const sumOrNull = (a: number | null, b: number | null) => (a === null || b === null ? null : a + b);

export function buildRows(m: Measured): Omit<BenchReport, "machine" | "settings"> {
  const rt = (op: string) => m.roundTrips.get(op) ?? null;
  const w2Ratio = m.w2.rps / m.raw.rate;
  const w2Trips = rt("login (success)");
  const workloads: WorkloadRow[] = [
    ...w1Rows(10, m.w1, rt("GET self"), 0.7),
    ...w1Rows(50, m.w1at50, rt("GET self"), 0.8),
    ...eddsaVersusHs256(m.w1eddsa, rt("GET self")),
    ...versusBaseline("W1b admin reads another user", 10, m.w1b, rt("GET other (admin)")),
    row("W2 login (48 accounts)", 8, m.w2, {
      ratio: w2Ratio,
      ratioTo: "raw argon2id",
      roundTrips: w2Trips,
      target: "≥ 0.7 × raw argon2id, ≤ 3 round trips",
      holds: w2Ratio >= 0.7 && (w2Trips ?? 0) <= 3,
    }),
    row("baseline: W2 bare login (one query, argon2id, a token)", 8, m.w2Bare, {
      ratio: m.w2Bare.rps / m.raw.rate,
      ratioTo: "raw argon2id",
      roundTrips: 1,
    }),
    {
      ...row(`raw argon2id verify (best: ${m.raw.concurrency} at once)`, m.raw.concurrency, {
        rps: m.raw.rate,
        p50: m.raw.p50,
        p99: m.raw.p99,
        max: m.raw.p99,
        ok: 0,
        failed: 0,
      }),
    },
    row("W2f login with a second factor (2 requests)", 8, m.w2f.factor, {
      ratio: m.w2f.factor.rps / m.w2f.plain.rps,
      ratioTo: "W2 login (same client)",
      roundTrips: sumOrNull(
        rt("login with a factor: password step"),
        rt("login with a factor: code step"),
      ),
    }),
    row("W2 login (same client as W2f)", 8, m.w2f.plain, { roundTrips: w2Trips }),
    row("W3 register", 8, m.w3, {
      ratio: m.w3.rps / m.raw.rate,
      ratioTo: "raw argon2id",
      roundTrips: rt("register"),
    }),
    row("W4 refresh (rotation)", 10, m.w4, {
      roundTrips: rt("refresh"),
      target: "≤ 2 round trips",
      holds: (rt("refresh") ?? 0) <= 2,
    }),
    row("W2 login, 200 at once (memory run)", 200, m.memory.logins),
  ];
  if (m.big) {
    // Each ratio to the baseline of its own turns: the table's size is what differs, not the
    // machine's speed in the minutes between the two (absolute rates moved by a third).
    const ratio = m.big.api.rps / m.big.baseline.rps / (m.w1.api.rps / m.w1.baseline.rps);
    workloads.push(
      row(`W1 self-read, ${m.big.users.toLocaleString("en-US")} users`, 10, m.big.api, {
        ratio,
        ratioTo: "W1 at 1,000 users (each ÷ its baseline)",
        roundTrips: rt("GET self"),
        target: "within 10 % of W1 at 1,000 users",
        holds: ratio >= 0.9,
      }),
      row(
        `baseline: W1 self-read, ${m.big.users.toLocaleString("en-US")} users`,
        10,
        m.big.baseline,
        { roundTrips: 1 },
      ),
    );
  }

  if (m.worker) workloads.push(...workerRows(m.worker));

  const roundTrips: Check[] = [...m.roundTrips].map(([name, value]) => {
    const limit = ROUND_TRIP_TARGETS[name];
    return {
      name,
      value,
      unit: "",
      target: limit === undefined ? "" : `≤ ${limit}`,
      holds: limit === undefined ? null : value <= limit,
    };
  });
  const s = m.startup;
  const startup: Check[] = [
    {
      name: "Postgres",
      value: s.postgresMs,
      unit: "ms",
      target: "< 1000 ms",
      holds: s.postgresMs < 1000,
    },
    {
      name: "existing embedded database",
      value: s.embeddedExistingMs,
      unit: "ms",
      target: "< 1000 ms",
      holds: s.embeddedExistingMs < 1000,
    },
    {
      name: "fresh embedded database",
      value: s.embeddedFreshMs,
      unit: "ms",
      target: "< 3000 ms",
      holds: s.embeddedFreshMs < 3000,
    },
    {
      name: "compiling (esbuild; only a start after a source change pays it)",
      value: s.buildMs,
      unit: "ms",
      target: "",
      holds: null,
    },
  ];
  const e = s.embeddedW1;
  const embedded: Check[] = [
    {
      name: "existing embedded database: RSS 2 s after /ready",
      value: s.embeddedIdleRssMB,
      unit: "MB",
      target: "≤ 200 MB",
      holds: s.embeddedIdleRssMB <= 200,
    },
    {
      name: "existing embedded database: start-up peak (VmHWM 2 s after /ready)",
      value: s.embeddedStartPeakMB,
      unit: "MB",
      target: "≤ 300 MB",
      holds: s.embeddedStartPeakMB <= 300,
    },
    {
      name: "fresh embedded database (a new PGLITE_DIR): RSS 2 s after /ready",
      value: s.embeddedFreshRssMB,
      unit: "MB",
      target: "",
      holds: null,
    },
    {
      name: "fresh embedded database: start-up peak (VmHWM 2 s after /ready)",
      value: s.embeddedFreshPeakMB,
      unit: "MB",
      target: "",
      holds: null,
    },
    {
      name: "existing embedded database with V8's optimising WebAssembly tier (node --no-liftoff-only): start-up peak",
      value: s.tierUpStartPeakMB,
      unit: "MB",
      target: "",
      holds: null,
    },
    {
      name: "W1 on the embedded database, req/s",
      value: e.liftoff.rps,
      unit: "",
      target: "",
      holds: null,
    },
    {
      name: "W1 on the embedded database, CPU per request",
      value: e.liftoff.cpuUs,
      unit: "µs",
      target: "",
      holds: null,
    },
    {
      name: "the same with the optimising tier, req/s",
      value: e.tierUp.rps,
      unit: "",
      target: "",
      holds: null,
    },
    {
      name: "the same with the optimising tier, CPU per request",
      value: e.tierUp.cpuUs,
      unit: "µs",
      target: "",
      holds: null,
    },
  ];
  const mem = m.memory;
  const memory: Check[] = [
    {
      name: "idle RSS of the API process",
      value: mem.idleRssMB,
      unit: "MB",
      target: "",
      holds: null,
    },
    {
      name: "peak RSS (VmHWM) after 200 concurrent logins",
      value: mem.lifetimePeakMB,
      unit: "MB",
      target: "< 300 MB",
      holds: mem.lifetimePeakMB < 300,
    },
    {
      name: "highest sampled RSS during them",
      value: mem.sampledPeakMB,
      unit: "MB",
      target: "< 300 MB",
      holds: mem.sampledPeakMB < 300,
    },
    {
      name: "/health p99 during them",
      value: mem.health.p99,
      unit: "ms",
      target: "≤ 50 ms",
      holds: mem.health.p99 <= 50,
    },
    {
      name: "/health max during them",
      value: mem.health.max,
      unit: "ms",
      target: "≤ 50 ms",
      holds: mem.health.max <= 50,
    },
  ];
  memory.push(...embedded);
  const cpu = m.loginCpuUs;
  const loginCpu = (name: string, us: number, target = ""): Check => ({
    name,
    value: us / 1000,
    unit: "ms",
    target,
    holds: target === "" ? null : us <= 1200,
  });
  memory.push(
    loginCpu(
      "W2: CPU time of the API's main thread per login (argon2 runs beside it)",
      cpu.api,
      "≤ 1.2 ms",
    ),
    loginCpu("the same for the baseline's bare login, in the same turns", cpu.baseline),
    loginCpu("the API's, logins one at a time (1 connection)", cpu.apiOneAtATime),
    loginCpu("the baseline's, logins one at a time", cpu.baselineOneAtATime),
  );
  memory.push(...w1CpuChecks(m));
  const worker = m.worker ? workerCpu(m.worker) : undefined;
  return { workloads, roundTrips, startup, memory, tokens: m.tokens, worker, notes: NOTES };
}

const NOTES = [
  "req/s counts 2xx answers only; p50/p99 are over all answers; `failed` = non-2xx answers plus connection errors, summed over the rounds.",
  "API and baseline (bench/baseline.ts: node:http, HS256 with node:crypto, one indexed postgres.js query for the account and its session, the same JSON) run as separate processes on the same Node and database and are measured alternately, A B A B; each figure is the median over the rounds. autocannon runs in the bench process on the same machine.",
  "Hono floor (bench/baseline.ts with BASELINE_SERVER=hono): the baseline's read, the same checks and query, as a bare Hono app on @hono/node-server (no middleware, no Drizzle, no access log, two response headers), measured in W1's turns: floor ÷ baseline is the stack's share of the difference, API ÷ floor ours. CPU time per request: each server's process CPU (/proc/<pid>/stat) over its W1 runs divided by its answers, median over the rounds.",
  "Bare login (bench/baseline.ts, POST /api/user/login): the account in one query, the same @node-rs/argon2 verify, an HS256 token; no session, rate limit, lockout or audit entry. It runs in W2's turns; the main thread's CPU time per login (/proc/<pid>/task/<pid>/stat) of it and of the API, at 8 connections and one login at a time.",
  "The API runs as `npm start` runs it (scripts/start.mjs: the server compiled by esbuild, dependencies bundled, one process), NODE_ENV=production, TRUST_PROXY=1, default rate limits: every POST carries its own X-Forwarded-For, so the per-IP limiter runs its query on every request but never refuses.",
  "Raw argon2id: @node-rs/argon2 verify with the app's parameters (m=19456, t=2, p=1) in the bench process, best of 1, 2 and 4 at once; W3's ratio is informative (register hashes once, like a verify).",
  "W2f: a login with a second factor, as one operation of two requests: POST /api/user/login (the password; it answers an mfa_token) then POST /api/user/login/mfa with the current TOTP code, computed in the bench (node:crypto HMAC-SHA1, RFC 6238). req/s counts whole operations that succeeded, p50/p99 are of the whole operation. A code step is accepted once per account, so every operation has an account of its own, seeded directly before its round (one shared argon2id hash, mfa_enabled, a random secret sealed with the API's MFA_ENCRYPTION_KEY); a fixed count of operations per round rather than a duration. Its ratio is to W2 driven by the same client (fetch, one operation per connection at a time, the same count, cycling over the 48 login accounts) at the same concurrency, alternately. No target: argon2id dominates both, so expect about 1 (the code step adds an HMAC, an AES-GCM open and a few round trips, no hash).",
  "Round trips: a TCP proxy between a second API process and Postgres counts, per connection, each burst of client→server bytes that follows server→client bytes. Each operation runs alone, after warm-up runs, and waits for 60 ms of silence before and after (background work included); the median is reported. Queries sent together in one pipeline count once; queries on two connections at once count twice.",
  "Start-up: from spawning `node scripts/start.mjs` (the bundle already current; a start after a source change adds the compile time above) to the first 200 from /ready, median over the rounds; fresh = an empty PGLITE_DIR, existing = the same directory started a second time.",
  "EdDSA: a third API process with JWT_SIGNING_KEYS (one Ed25519 key) against the first (HS256), alternately; W1 sends one token over and over, so both mostly read the verified-token cache. Token verification: the app's verifyAccessToken in the bench process, one token at a time, on tokens never seen (signature and claims) and seen before (the cache); the bare primitives beside, and again while 4 argon2id hashes fill libuv's thread pool, where Node runs WebCrypto's jobs.",
  "Worker: the API's Worker (the deployable bundle, `wrangler deploy --dry-run`) and a bare Worker (bench/bare-worker/worker.ts: a postgres.js client per request, HS256 with hono/jwt, one query; login: one query, the same argon2id wasm, an HS256 token) run in one workerd through Miniflare, as `wrangler dev` runs them, each on its own socket, both on the same local Hyperdrive binding; measured in turn, after a warm-up run each. Logins send a new CF-Connecting-IP each. CPU per request: workerd's process CPU (/proc/<pid>/stat) over the run divided by the requests; Postgres's: the CPU of the backends that exited during the run (postmaster's cutime + cstime; other clients' backends count too). The local Hyperdrive opens a new Postgres connection, so a new backend, for every connection the Worker opens; Hyperdrive in production keeps them pooled near the database (docs/workers.md).",
  "Embedded database: the API started as `npm start` does (`node --liftoff-only`: V8 compiles PGlite's WebAssembly with its baseline compiler only) on a PGLITE_DIR started once before; RSS and VmHWM 2 s after /ready. Once on one directory: the same start with the optimising tier allowed (`--no-liftoff-only`, as before issue 21), then W1 at 10 connections on each (one account, a warm-up run, a measured one), with the process's CPU time per request.",
  "Memory: VmRSS/VmHWM from /proc/<pid>/status of the API process; /health is probed one request at a time on its own connection during the 200 concurrent logins.",
];
