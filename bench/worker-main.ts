// `npm run bench:worker`: the Worker section of `npm run bench` alone, on a database of its own:
// W1 and logins on the API's Worker and on the bare one, in turn, with workerd's CPU time per
// request. Flags: --duration=<s> (default 5), --rounds=<n> (default 3), --database-url=<url>.
import { randomBytes } from "node:crypto";
import { login } from "./api-client";
import { createBenchDatabase } from "./bench-database";
import { seedBulkAccounts, seedLoginAccounts } from "./seed";
import { localPostmaster, measureWorkers, startWorkers } from "./worker";

const flags = new Map(
  process.argv.slice(2).map((arg) => {
    const [name, value] = arg.replace(/^--/, "").split("=");
    return [name as string, value ?? "true"];
  }),
);
const duration = Number(flags.get("duration") ?? 5);
const rounds = Number(flags.get("rounds") ?? 3);
const databaseUrl = flags.get("database-url") ?? "postgres://postgres@127.0.0.1:5432/postgres";

const db = await createBenchDatabase(databaseUrl);
try {
  const accounts = await seedLoginAccounts(db.sql, 16);
  await seedBulkAccounts(db.sql, 1, 984);
  const self = accounts[0] as (typeof accounts)[0];
  const secret = randomBytes(32).toString("base64url");
  const workers = await startWorkers(db.url, secret);
  try {
    const token = (await login(workers.api, self)).access;
    const postmaster = await localPostmaster(db.sql);
    const figures = await measureWorkers(workers, {
      rounds,
      duration,
      self,
      token,
      accounts,
      postmaster,
    });
    for (const [workload, pair] of Object.entries(figures)) {
      for (const [side, r] of Object.entries(pair)) {
        console.log(
          `${workload.padEnd(6)} ${side.padEnd(5)} ${r.rps.toFixed(1).padStart(8)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  failed ${r.failed}  CPU per request: workerd ${Math.round(r.cpuUs)} µs, Postgres backends ${Math.round(r.postgresUs)} µs`,
        );
      }
      console.log(
        `${workload.padEnd(6)} ratio ${(pair.api.rps / pair.bare.rps).toFixed(2)} (req/s), ${(pair.bare.cpuUs / pair.api.cpuUs).toFixed(2)} (CPU)`,
      );
    }
  } finally {
    await workers.stop();
  }
} finally {
  await db.drop();
}
