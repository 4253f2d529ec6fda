// `npm run bench:w1`: the authenticated read (W1) alone, quickly, on a database of its own.
//   compare (default): API and baseline in turn at 10 and 50 connections, medians per server,
//   with the CPU time each server spent per request (Linux /proc; steadier on a shared machine).
//   --profile: one W1 run against the API under `node --cpu-prof`, then the functions and the
//   source files with the most self time (bundle positions mapped back through its source map).
// Flags: --duration=<s> (default 5), --rounds=<n> (default 3), --database-url=<url>;
//   --against=<dir>: compare also the server of another checkout, in turn with this one (for
//   instance `git archive` of an older commit, with node_modules linked); --eddsa: compare also
//   an API process that signs with EdDSA (JWT_SIGNING_KEYS), read with its own token;
//   --profile, --connections=<n> (default 10); --summarize=<file.cpuprofile>: a profile taken;
//   --floor: compare also the Hono floor (bench/baseline.ts with BASELINE_SERVER=hono) (the baseline's read as a bare Hono app);
//   --api-env=NAME=value[,NAME=value]: extra variables for this checkout's API (ACCESS_LOG=off);
//   --login: logins (W2, 8 accounts) instead of reads, the baseline's being its bare login, and the
//   CPU time counted of the servers' main threads alone (argon2 runs on libuv's threads).
// Not a replacement for `npm run bench`.
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { SourceMap } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { login } from "./api-client";
import { createBenchDatabase } from "./bench-database";
import { cpuPerRequest, cpuSeconds, mainThreadCpuSeconds } from "./cpu";
import type { LoadResult } from "./load";
import { runLoad } from "./load";
import { medianResult } from "./measure";
import {
  HEAP_FLAGS,
  killAllServers,
  ROOT,
  startBaseline,
  startHonoFloor,
  startServer,
} from "./processes";
import { promoteToAdmin, seedBulkAccounts, seedLoginAccounts } from "./seed";
import { benchSigningKeys } from "./token-verify";
import { loginRequests, readUser } from "./workloads";

const say = (line: string) => console.error(`[w1] ${line}`);

const flags = new Map(
  process.argv.slice(2).map((arg) => {
    const [name, value] = arg.replace(/^--/, "").split("=");
    return [name as string, value ?? "true"];
  }),
);
const duration = Number(flags.get("duration") ?? 5);
const rounds = Number(flags.get("rounds") ?? 3);
const profile = flags.has("profile");
const connections = Number(flags.get("connections") ?? 10);
const against = flags.get("against");
const eddsa = flags.has("eddsa");
const floor = flags.has("floor");
const logins = flags.has("login");
const apiEnv = Object.fromEntries(
  (flags.get("api-env") ?? "")
    .split(",")
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
);
const databaseUrl = flags.get("database-url") ?? "postgres://postgres@127.0.0.1:5432/postgres";

const existing = flags.get("summarize");
if (existing) {
  console.log(await summarize(existing));
  process.exit(0);
}

const db = await createBenchDatabase(databaseUrl);
try {
  const accounts = await seedLoginAccounts(db.sql, logins ? 8 : 2);
  await seedBulkAccounts(db.sql, 1, 998);
  await promoteToAdmin(db.sql, (accounts[0] as (typeof accounts)[0]).username);
  const self = accounts[1] as (typeof accounts)[0];
  const secret = randomBytes(32).toString("base64url");
  // As the bench runs it (bench/scenario.ts).
  const appEnv = {
    NODE_ENV: "production",
    JWT_SECRET_KEY: secret,
    MFA_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    TRUST_PROXY: "1",
    DATABASE_URL: db.url,
  };
  const profileDir = profile ? await mkdtemp(join(tmpdir(), "w1-prof-")) : undefined;
  const nodeFlags = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  // The flags `npm start` passes (package.json), so the figures are the served process's.
  const startFlags = ["--liftoff-only", ...HEAP_FLAGS];
  const api = await startServer([...nodeFlags, ...startFlags, "scripts/start.mjs"], {
    ...appEnv,
    ...apiEnv,
  });
  const token = (await login(api.url, self)).access;
  const read =
    (url: string, conns: number, as = token) =>
    () =>
      runLoad({
        url,
        connections: conns,
        duration,
        requests: logins ? loginRequests(accounts) : readUser(self.username, as),
      });
  // CPU time the server process (with --login, its main thread) spent per answered request.
  const cpu = cpuPerRequest();
  const cpuOf = logins ? mainThreadCpuSeconds : cpuSeconds;
  const measured =
    (name: string, pid: number, url: string, conns: number, as = token) =>
    () =>
      cpu.measure(`${name}@${conns}`, () => cpuOf(pid), read(url, conns, as));
  const what = logins ? "logins" : "W1";

  if (profileDir) {
    say("warm-up…");
    await read(api.url, connections)();
    say(`${what} at ${connections} connections for ${duration} s under --cpu-prof…`);
    const result = await read(api.url, connections)();
    say(`${Math.round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms`);
    await api.stop();
    const file = (await readdir(profileDir)).find((f) => f.endsWith(".cpuprofile"));
    if (!file) throw new Error(`no profile written in ${profileDir}`);
    console.log(`profile: ${join(profileDir, file)}\n`);
    console.log(await summarize(join(profileDir, file)));
  } else {
    const servers: Array<{ name: string; pid: number; url: string; token?: string }> = [
      { name: "API", pid: api.pid, url: api.url },
    ];
    if (eddsa) {
      const signing = await startServer([...startFlags, "scripts/start.mjs"], {
        ...appEnv,
        JWT_SIGNING_KEYS: benchSigningKeys(),
      });
      const eddsaToken = (await login(signing.url, self)).access;
      servers.push({ name: "EdDSA", pid: signing.pid, url: signing.url, token: eddsaToken });
    }
    if (against) {
      // An older checkout's server (its own scripts/start.mjs and bundle) on the same database.
      const other = await startServer([...startFlags, join(against, "scripts/start.mjs")], appEnv);
      servers.push({ name: "against", pid: other.pid, url: other.url });
    }
    if (floor) {
      const hono = await startHonoFloor({ DATABASE_URL: db.url, JWT_SECRET_KEY: secret });
      servers.push({ name: "Hono", pid: hono.pid, url: hono.url });
    }
    const baseline = await startBaseline({ DATABASE_URL: db.url, JWT_SECRET_KEY: secret });
    servers.push({ name: "baseline", pid: baseline.pid, url: baseline.url });
    say("warm-up…");
    for (const server of servers) await read(server.url, 10, server.token)();
    for (const conns of logins ? [1, 8] : [10, 50]) {
      say(`${what} at ${conns} connections, ${rounds} rounds of ${duration} s each, in turn…`);
      // In turn, round after round, so drift (a busy neighbour) hits every server alike.
      const results = new Map<string, LoadResult[]>();
      for (let round = 0; round < rounds; round++) {
        for (const { name, pid, url, token: as } of servers) {
          const result = await measured(name, pid, url, conns, as)();
          results.set(name, [...(results.get(name) ?? []), result]);
        }
      }
      const cpuUs = (name: string) => cpu.median(`${name}@${conns}`);
      const base = medianResult(results.get("baseline") ?? []);
      for (const { name } of servers) {
        const r = medianResult(results.get(name) ?? []);
        const ratios =
          name === "baseline"
            ? ""
            : `  ratio ${(r.rps / base.rps).toFixed(2)} (req/s), ${(cpuUs("baseline") / cpuUs(name)).toFixed(2)} (CPU)`;
        console.log(
          `${name.padEnd(8)} @${conns}: ${r.rps.toFixed(1).padStart(8)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  failed ${r.failed}  CPU ${Math.round(cpuUs(name))} µs/request${ratios}`,
        );
      }
      if (eddsa) {
        const rps = (name: string) => medianResult(results.get(name) ?? []).rps;
        console.log(
          `EdDSA / API (HS256) @${conns}: ${(rps("EdDSA") / rps("API")).toFixed(3)} (req/s), ${(cpuUs("API") / cpuUs("EdDSA")).toFixed(3)} (CPU)`,
        );
      }
    }
  }
} finally {
  killAllServers();
  await db.drop();
}

type ProfileNode = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
};
type Profile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

/** Self time per function and per source file, as a share of the samples. */
async function summarize(path: string) {
  const profile = JSON.parse(await readFile(path, "utf8")) as Profile;
  const maps = new Map<string, SourceMap | undefined>();
  const mapFor = async (url: string) => {
    if (!maps.has(url)) {
      let map: SourceMap | undefined;
      if (url.startsWith("file://") && url.endsWith(".js")) {
        const text = await readFile(`${new URL(url).pathname}.map`, "utf8").catch(() => undefined);
        if (text) map = new SourceMap(JSON.parse(text));
      }
      maps.set(url, map);
    }
    return maps.get(url);
  };
  const where = new Map<number, { fn: string; file: string }>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    let file = url ? url.replace(/^file:\/\//, "") : "";
    let line = lineNumber + 1;
    const map = await mapFor(url);
    const entry = map?.findEntry(lineNumber, columnNumber);
    if (entry && "originalSource" in entry && entry.originalSource) {
      const bundle = new URL(url).pathname;
      file = resolve(dirname(bundle), entry.originalSource.replace(/^file:\/\//, ""));
      line = entry.originalLine + 1;
    }
    if (file.startsWith("/")) file = relative(ROOT, file);
    file = file.replace(/^node_modules\//, "~/");
    const fn = functionName || (url ? "(anonymous)" : "");
    where.set(node.id, { fn: `${fn || "(native)"} ${file ? `${file}:${line}` : ""}`.trim(), file });
  }
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const byFn = new Map<string, number>();
  // Time with a function of src/ anywhere on the stack (each sample counted once per function).
  const inSrc = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const w = where.get(id) as { fn: string; file: string };
    if (w.fn === "(idle)") {
      idle += dt;
      return;
    }
    total += dt;
    byFn.set(w.fn, (byFn.get(w.fn) ?? 0) + dt);
    const group = w.file ? w.file.replace(/^(~\/(@[^/]+\/)?[^/]+)\/.*$/, "$1") : w.fn;
    byFile.set(group, (byFile.get(group) ?? 0) + dt);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = where.get(at) as { fn: string; file: string };
      if (frame.file.startsWith("src/") && !seen.has(frame.fn)) {
        seen.add(frame.fn);
        inSrc.set(frame.fn, (inSrc.get(frame.fn) ?? 0) + dt);
      }
    }
  });
  const top = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((x, y) => y[1] - x[1])
      .slice(0, n)
      .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`)
      .join("\n");
  const seconds = (us: number) => (us / 1e6).toFixed(1);
  return `busy ${seconds(total)} s, idle ${seconds(idle)} s; shares of the busy time.\n\nself time by function (top 40):\n${top(byFn, 40)}\n\nself time by package / source file:\n${top(byFile, 25)}\n\ntotal time (self and callees, the synchronous part) of functions of src/:\n${top(inSrc, 20)}`;
}
