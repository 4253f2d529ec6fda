// `npm run bench:soak`: minutes of mixed load against `npm start` on a database of its own, sampling the
// server's memory; it reports whether memory stays flat and every answer is the expected one.
// Flags: --minutes=<n> (SOAK_MINUTES, default 10), --concurrency=<n> (SOAK_CONCURRENCY, default
// 16), --database-url=<url> (BENCH_DATABASE_URL), --out=<dir>.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { login, type Tokens } from "./api-client";
import { createBenchDatabase } from "./bench-database";
import { nextClientIp } from "./client-ip";
import { describeMachine } from "./machine";
import { killAllServers, memoryOf, ROOT, startApi } from "./processes";
import { type Account, promoteToAdmin, seedBulkAccounts, seedLoginAccounts } from "./seed";
import { median, percentile } from "./stats";

const log = (line: string) => console.error(`[soak] ${line}`);

type Options = { minutes: number; concurrency: number; databaseUrl: string; outDir: string };

function parseSoakOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const flags = new Map(
    argv.map((arg) => {
      const match = /^--([a-z-]+)=(.*)$/.exec(arg);
      if (!match) throw new Error(`Unknown argument: ${arg}`);
      return [match[1] as string, match[2] as string];
    }),
  );
  const positive = (value: string | undefined, fallback: number, name: string) => {
    if (value === undefined || value === "") return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: not a positive number`);
    return n;
  };
  return {
    minutes: positive(flags.get("minutes") ?? env.SOAK_MINUTES, 10, "minutes"),
    concurrency: Math.round(
      positive(flags.get("concurrency") ?? env.SOAK_CONCURRENCY, 16, "concurrency"),
    ),
    databaseUrl:
      flags.get("database-url") ??
      env.BENCH_DATABASE_URL ??
      "postgres://postgres@127.0.0.1:5432/postgres",
    outDir: flags.get("out") ?? join(ROOT, "bench", "results"),
  };
}

/** One operation of the mix: what it sends and the only status that counts as success. */
type Operation = { name: string; weight: number; run(client: Client): Promise<number> };

/** A simulated user: one account, its current token pair, its own client address per request. */
type Client = { base: string; account: Account; tokens: Tokens; adminToken: string };

async function send(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { "x-forwarded-for": nextClientIp() };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : {} };
}

let registered = 0;
const soakId = randomBytes(3).toString("hex");

/** Weights are per 100 operations; reads dominate, as they do for an auth API. */
const operations: Operation[] = [
  {
    name: "read self",
    weight: 62,
    run: async (c) =>
      (await send(c.base, "GET", `/api/user/${c.account.username}`, undefined, c.tokens.access))
        .status,
  },
  {
    name: "refresh",
    weight: 12,
    run: async (c) => {
      const { status, json } = await send(c.base, "POST", "/api/user/refresh", {
        refresh_token: c.tokens.refresh,
      });
      if (status === 200) {
        c.tokens = { access: String(json.access_token), refresh: String(json.refresh_token) };
      }
      return status;
    },
  },
  {
    name: "login + logout",
    weight: 8,
    run: async (c) => {
      const fresh = await send(c.base, "POST", "/api/user/login", {
        username: c.account.username,
        password: c.account.password,
      });
      if (fresh.status !== 200) return fresh.status;
      const out = await send(c.base, "POST", "/api/user/logout", {
        refresh_token: fresh.json.refresh_token,
      });
      return out.status;
    },
  },
  {
    name: "register",
    weight: 6,
    run: async (c) => {
      const username = `soak_${soakId}_${registered++}`;
      const { status } = await send(c.base, "POST", "/api/user/register", {
        username,
        first_name: "Soak",
        last_name: "Test",
        email: `${username}@example.com`,
        password: "a long soak password 42",
      });
      return status === 201 ? 200 : status;
    },
  },
  {
    name: "forget_password",
    weight: 6,
    run: async (c) =>
      (
        await send(c.base, "POST", "/api/user/forget_password", {
          username: c.account.username,
          email: c.account.email,
        })
      ).status,
  },
  {
    name: "admin update",
    weight: 6,
    run: async (c) =>
      (
        await send(
          c.base,
          "PUT",
          `/api/user/bench_u${1 + Math.floor(Math.random() * 500)}`,
          { first_name: `Soak${Math.floor(Math.random() * 1000)}` },
          c.adminToken,
        )
      ).status,
  },
];

function pick(): Operation {
  let roll = Math.random() * operations.reduce((sum, op) => sum + op.weight, 0);
  for (const op of operations) {
    roll -= op.weight;
    if (roll < 0) return op;
  }
  return operations[0] as Operation;
}

type OpStats = { ok: number; failed: number; statuses: Record<string, number>; ms: number[] };

async function main() {
  const options = parseSoakOptions(process.argv.slice(2), process.env);
  log(`Creating a database of its own; ${options.minutes} min at ${options.concurrency} clients`);
  const db = await createBenchDatabase(options.databaseUrl);
  process.once("SIGINT", () => {
    killAllServers();
    void db.drop().finally(() => process.exit(130));
  });
  try {
    const accounts = await seedLoginAccounts(db.sql, options.concurrency + 1);
    await seedBulkAccounts(db.sql, 1, 1000);
    const admin = accounts[0] as Account;
    await promoteToAdmin(db.sql, admin.username);
    const api = await startApi({
      NODE_ENV: "production",
      JWT_SECRET_KEY: randomBytes(32).toString("base64url"),
      MFA_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
      TRUST_PROXY: "1",
      DATABASE_URL: db.url,
    });
    try {
      const adminToken = (await login(api.url, admin)).access;
      const clients: Client[] = [];
      for (const account of accounts.slice(1)) {
        clients.push({ base: api.url, account, tokens: await login(api.url, account), adminToken });
      }

      const stats = new Map<string, OpStats>(
        operations.map((op) => [op.name, { ok: 0, failed: 0, statuses: {}, ms: [] }]),
      );
      const memory: { atS: number; rssMB: number }[] = [];
      const started = performance.now();
      const endAt = started + options.minutes * 60_000;
      const sampler = setInterval(() => {
        memory.push({ atS: (performance.now() - started) / 1000, rssMB: memoryOf(api.pid).rssMB });
      }, 5000);
      const progress = setInterval(() => {
        const done = [...stats.values()].reduce((n, s) => n + s.ok + s.failed, 0);
        const last = memory.at(-1)?.rssMB.toFixed(0) ?? "?";
        log(
          `${((performance.now() - started) / 60_000).toFixed(1)} min: ${done} requests, RSS ${last} MB`,
        );
      }, 60_000);

      await Promise.all(
        clients.map(async (client) => {
          while (performance.now() < endAt) {
            const op = pick();
            const s = stats.get(op.name) as OpStats;
            const t0 = performance.now();
            let status: number | string;
            try {
              status = await op.run(client);
            } catch (error) {
              status = (error as Error).message.slice(0, 60);
            }
            s.ms.push(performance.now() - t0);
            s.statuses[String(status)] = (s.statuses[String(status)] ?? 0) + 1;
            if (status === 200) s.ok++;
            else s.failed++;
          }
        }),
      );
      clearInterval(sampler);
      clearInterval(progress);

      const elapsedS = (performance.now() - started) / 1000;
      // Flat means: the last minute's median RSS against the second minute's (the first is warm-up).
      const window = (from: number, to: number) =>
        median(memory.filter((m) => m.atS >= from && m.atS < to).map((m) => m.rssMB));
      const early = window(60, 120);
      const perMinute = Array.from({ length: Math.floor(elapsedS / 60) }, (_, m) =>
        window(m * 60, (m + 1) * 60),
      );
      const late = window(elapsedS - 60, elapsedS + 1);
      const rows = [...stats].map(([name, s]) => ({
        name,
        requests: s.ok + s.failed,
        failed: s.failed,
        perSecond: (s.ok + s.failed) / elapsedS,
        p50: percentile(s.ms, 50),
        p99: percentile(s.ms, 99),
        statuses: s.statuses,
      }));
      const failed = rows.reduce((n, r) => n + r.failed, 0);
      const total = rows.reduce((n, r) => n + r.requests, 0);
      const report = {
        takenAt: new Date().toISOString(),
        machine: await describeMachine(db.sql),
        minutes: options.minutes,
        concurrency: options.concurrency,
        total,
        failed,
        rss: {
          secondMinuteMB: early,
          lastMinuteMB: late,
          perMinuteMB: perMinute,
          peakMB: memoryOf(api.pid).peakMB,
        },
        memory,
        rows,
      };
      const markdown = [
        `Soak: ${options.minutes} min, ${options.concurrency} clients, ${report.takenAt}`,
        "",
        "| operation | requests | per s | p50 ms | p99 ms | failed |",
        "|---|---:|---:|---:|---:|---:|",
        ...rows.map(
          (r) =>
            `| ${r.name} | ${r.requests} | ${r.perSecond.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.failed}${r.failed ? ` ${JSON.stringify(r.statuses)}` : ""} |`,
        ),
        "",
        `RSS median per minute (MB): ${perMinute.map((mb) => mb.toFixed(0)).join(", ")}`,
        "",
        `${total} requests, ${failed} failed. RSS: ${early.toFixed(0)} MB in minute 2, ` +
          `${late.toFixed(0)} MB in the last minute, peak ${report.rss.peakMB.toFixed(0)} MB.`,
      ].join("\n");
      mkdirSync(options.outDir, { recursive: true });
      writeFileSync(join(options.outDir, "soak.json"), `${JSON.stringify(report, null, 2)}\n`);
      writeFileSync(join(options.outDir, "soak.md"), `${markdown}\n`);
      console.log(markdown);
      if (failed > 0) process.exitCode = 1;
    } finally {
      await api.stop();
    }
  } finally {
    killAllServers();
    await db.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
