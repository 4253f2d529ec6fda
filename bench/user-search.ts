import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { promisify } from "node:util";
import type postgres from "postgres";
import { openPostgres } from "../src/node/database";
import { type UserFilters, userPageQuery } from "../src/users/user.store";
import { createBenchDatabase } from "./bench-database";
import { describeMachine } from "./machine";
import { killAllServers, ROOT, startApi } from "./processes";
import { median, percentile } from "./stats";

// npm run bench:search [-- --users=100000 --requests=20]
// The admin listing on a large table, over HTTP against the real server on Postgres: a search by
// an email fragment, page reads (first, deep via cursor) and broad searches whose total counts
// most rows. A database of its own next to BENCH_DATABASE_URL is seeded by
// `npm run db:seed-users` and dropped at the end. Prints a table and EXPLAIN ANALYZE of each
// query, and writes both to bench/results/user-search.md. A measurement, not a test: nothing
// fails on a slow figure.

const flags = new Map(
  process.argv.slice(2).map((arg) => {
    const [name, value] = arg.replace(/^--/, "").split("=");
    return [name, value ?? "true"] as const;
  }),
);
const USERS = Number(flags.get("users") ?? 100_000);
const REQUESTS = Number(flags.get("requests") ?? 20);
const WARMUP = 3;
const TARGET_MS = 50;
const serverUrl = process.env.BENCH_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const ADMIN = { username: "bench_admin", password: "bench admin password 1" };

type Page = { users: { id: number }[]; next_cursor: string | null; total: number };
type Scenario = {
  name: string;
  query: Record<string, string>;
  filters: UserFilters;
  afterId?: number;
};

const database = await createBenchDatabase(serverUrl);
const cleanup = async () => {
  killAllServers();
  await database.drop();
};
process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));

try {
  const env = { DATABASE_URL: database.url, PGLITE_DIR: "", NODE_ENV: "development" };
  const seedStarted = performance.now();
  const seeded = await promisify(execFile)(
    "npm",
    ["run", "--silent", "db:seed-users", "--", `--count=${USERS}`],
    { cwd: ROOT, env: { ...process.env, ...env } },
  );
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  await promisify(execFile)("npm", ["run", "--silent", "db:seed-admin"], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...env,
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_EMAIL: "bench_admin@example.com",
      ADMIN_PASSWORD: ADMIN.password,
    },
  });

  const api = await startApi({
    DATABASE_URL: database.url,
    NODE_ENV: "production",
    JWT_SECRET_KEY: "bench-user-search-secret-0123456789-abcdefghij",
    MFA_ENCRYPTION_KEY: "YmVuY2gtdXNlci1zZWFyY2gtbWZhLWtleS0wMTIzNDU=",
  });
  const login = await fetch(`${api.url}/api/user/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(ADMIN),
  });
  const { access_token: token } = (await login.json()) as { access_token: string };
  const headers = { authorization: `Bearer ${token}` };

  /** One timed request: the whole exchange, body read and parsed. */
  async function timed(query: Record<string, string>) {
    const started = performance.now();
    const res = await fetch(`${api.url}/api/users?${new URLSearchParams(query)}`, { headers });
    const body = (await res.json()) as Page;
    const ms = performance.now() - started;
    if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(body)}`);
    return { ms, body };
  }

  // A full walk in pages of 100: every id once, and a cursor deep into the table.
  const walkStarted = performance.now();
  const seen = new Set<number>();
  const walkTimes: number[] = [];
  let deepCursor: { cursor: string; afterId: number } | undefined;
  let walkTotal = 0;
  for (let cursor: string | null = null, pages = 0; pages === 0 || cursor !== null; pages++) {
    const { ms, body } = await timed(cursor ? { limit: "100", cursor } : { limit: "100" });
    walkTimes.push(ms);
    walkTotal = body.total;
    for (const user of body.users) seen.add(user.id);
    const last = body.users.at(-1);
    if (body.next_cursor && last && last.id >= USERS * 0.95 && !deepCursor) {
      deepCursor = { cursor: body.next_cursor, afterId: last.id };
    }
    cursor = body.next_cursor;
  }
  const walkSeconds = (performance.now() - walkStarted) / 1000;
  if (seen.size !== walkTotal || !deepCursor) throw new Error("the walk missed rows");

  const scenarios: Scenario[] = [
    { name: "first page (limit 20)", query: {}, filters: {} },
    { name: "first page (limit 100)", query: { limit: "100" }, filters: {} },
    {
      name: `deep page via cursor (after id ${deepCursor.afterId})`,
      query: { cursor: deepCursor.cursor },
      filters: {},
      afterId: deepCursor.afterId,
    },
    {
      name: "search by email fragment q=u12345@",
      query: { q: "u12345@" },
      filters: { q: "u12345@" },
    },
    {
      name: "search q=seed_u4242 (11 matches)",
      query: { q: "seed_u4242" },
      filters: { q: "seed_u4242" },
    },
    {
      name: "search by last name q=lovelace",
      query: { q: "lovelace" },
      filters: { q: "lovelace" },
    },
    { name: "broad: q=u1 (2 chars, no trigram)", query: { q: "u1" }, filters: { q: "u1" } },
    { name: "broad: q=an (2 chars, no trigram)", query: { q: "an" }, filters: { q: "an" } },
    {
      name: "broad: q=example.org (every row)",
      query: { q: "example.org" },
      filters: { q: "example.org" },
    },
    { name: "filter active=false", query: { active: "false" }, filters: { active: false } },
    { name: "filter role=ADMIN", query: { role: "ADMIN" }, filters: { role: "ADMIN" } },
    {
      name: "q=lovelace&active=true, deep page",
      query: { q: "lovelace", active: "true" },
      filters: { q: "lovelace", active: true },
    },
  ];
  // The deep page of a filtered query needs a cursor of that very query.
  const filtered = scenarios.at(-1) as Scenario;
  for (let cursor: string | null = null, pages = 0; pages === 0 || cursor !== null; pages++) {
    const { body } = await timed(cursor ? { ...filtered.query, cursor } : filtered.query);
    if (body.next_cursor && (body.users.at(-1)?.id ?? 0) >= USERS * 0.9) {
      filtered.query = { ...filtered.query, cursor: body.next_cursor };
      filtered.afterId = body.users.at(-1)?.id;
      break;
    }
    cursor = body.next_cursor;
  }

  // Interleaved rounds, as requests of an admin UI mix: the server's prepared statements (and
  // Postgres's choice between custom and generic plans) see every kind of query in turn.
  const times = new Map<string, number[]>(scenarios.map((s) => [s.name, []]));
  const answers = new Map<string, Page>();
  for (let round = 0; round < WARMUP + REQUESTS; round++) {
    for (const scenario of scenarios) {
      const { ms, body } = await timed(scenario.query);
      if (round >= WARMUP) times.get(scenario.name)?.push(ms);
      answers.set(scenario.name, body);
    }
  }
  await api.stop();

  const fmt = (ms: number) => ms.toFixed(1);
  const rows = scenarios.map((s) => {
    const t = times.get(s.name) ?? [];
    const body = answers.get(s.name) as Page;
    return `| ${s.name} | ${body.users.length} | ${body.total.toLocaleString("en")} | ${fmt(median(t))} | ${fmt(percentile(t, 90))} | ${fmt(Math.max(...t))} | ${median(t) < TARGET_MS ? "yes" : "**no**"} |`;
  });
  const m = await describeMachine(database.sql);
  const load = os
    .loadavg()
    .map((n) => n.toFixed(1))
    .join(", ");
  const info = `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; PostgreSQL ${m.postgres}; ${m.date}; load average ${load} at the end (1, 5, 15 min)`;
  const report = [
    "# GET /api/users on a large table",
    "",
    `Machine: ${info}.`,
    `${USERS.toLocaleString("en")} seeded accounts (\`npm run db:seed-users\`: ${seedSeconds.toFixed(1)} s) and one ADMIN; the API as \`npm start\` runs it, on Postgres; ${REQUESTS} requests per query after ${WARMUP} warm-up rounds, the queries interleaved, one at a time, each timed from the request to its parsed body.`,
    "",
    `| request | rows | total | median ms | p90 ms | max ms | median < ${TARGET_MS} ms |`,
    "|---|---|---|---|---|---|---|",
    ...rows,
    "",
    `Full walk in pages of 100: ${walkTimes.length} requests, every one of the ${walkTotal.toLocaleString("en")} accounts exactly once, ${walkSeconds.toFixed(1)} s (median ${fmt(median(walkTimes))} ms per page, max ${fmt(Math.max(...walkTimes))} ms).`,
    "",
    "## EXPLAIN (ANALYZE, BUFFERS) of the statement each request runs",
    "",
    "The statement runs unprepared (`planPerCall`), so each is planned for its own values. For the email search, the generic plan Postgres would switch to if it were a prepared statement is shown too: it is why it is not one.",
    "",
  ];
  const drizzle = openPostgres(database.url, { max: 1 });
  for (const scenario of scenarios) {
    const query = userPageQuery(drizzle.db, scenario.filters, {
      afterId: scenario.afterId,
      limit: Number(scenario.query.limit ?? 20),
    }).toSQL();
    const custom = await explain(database.sql, query.sql, query.params);
    report.push(`### ${scenario.name}`, "", "```", custom, "```", "");
    if (scenario.query.q === "u12345@") {
      const generic = await explainGeneric(database.sql, query.sql, query.params);
      report.push(
        "If it were a prepared statement, its generic plan:",
        "",
        "```",
        generic,
        "```",
        "",
      );
    }
  }
  await drizzle.close();

  const text = report.join("\n");
  console.log(text.split("## EXPLAIN")[0]);
  const out = new URL("results/", import.meta.url).pathname;
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}user-search.md`, `${text}\n`);
  console.log(
    `Written to bench/results/user-search.md (with the plans). Seeding said: ${seeded.stdout.split("\n")[0]}`,
  );
} finally {
  await cleanup();
}

async function explain(sql: postgres.Sql, text: string, params: unknown[]) {
  const rows = await sql.unsafe(
    `explain (analyze, buffers) ${text}`,
    params as postgres.ParameterOrJSON<never>[],
  );
  return rows.map((row) => row["QUERY PLAN"]).join("\n");
}

/** PostgreSQL 15 has no EXPLAIN (GENERIC_PLAN): a prepared statement forced to its generic plan. */
async function explainGeneric(sql: postgres.Sql, text: string, params: unknown[]) {
  const literal = (v: unknown) =>
    typeof v === "number" ? String(v) : `'${String(v).replaceAll("'", "''")}'`;
  const rows = await sql.begin(async (tx) => {
    await tx.unsafe("set local plan_cache_mode = force_generic_plan");
    await tx.unsafe(`prepare listing as ${text}`);
    const plan = await tx.unsafe(
      `explain (analyze, buffers) execute listing(${params.map(literal).join(", ")})`,
    );
    await tx.unsafe("deallocate listing");
    return plan;
  });
  return rows.map((row) => row["QUERY PLAN"]).join("\n");
}
