import { randomBytes } from "node:crypto";
import { mfaKey } from "../src/mfa/mfa-keys";
import { login } from "./api-client";
import { rawVerifyRate } from "./argon2-rate";
import { type BenchDatabase, viaPort } from "./bench-database";
import { startCountingProxy } from "./count-proxy";
import { cpuPerRequest, cpuSeconds, mainThreadCpuSeconds } from "./cpu";
import { runLoad } from "./load";
import { describeMachine } from "./machine";
import { alternate, medianResult, repeat } from "./measure";
import { measureMemory } from "./memory";
import { factorLogin, plainLogin, runOperations } from "./operations";
import type { BenchOptions } from "./options";
import { memoryOf, type ServerProcess, startApi, startBaseline, startHonoFloor } from "./processes";
import type { BenchReport } from "./report";
import { countRoundTrips } from "./round-trips";
import { buildRows, type Measured } from "./rows";
import {
  bulkAccount,
  countUsers,
  promoteToAdmin,
  seedBulkAccounts,
  seedFactorAccounts,
  seedLoginAccounts,
} from "./seed";
import { measureStartup } from "./startup";
import { sleep } from "./stats";
import { benchSigningKeys, measureTokenVerification } from "./token-verify";
import { localPostmaster, measureWorkers, startWorkers } from "./worker";
import { loginRequests, readUser, refreshRequests, registerRequests } from "./workloads";

/** Everything the bench measures, in order, on a migrated empty database. */
export async function runScenario(
  options: BenchOptions,
  db: BenchDatabase,
  log: (line: string) => void,
): Promise<BenchReport> {
  const { rounds, duration } = options;
  log(`Seeding ${options.users} users (${options.loginAccounts} with their own argon2id hash)…`);
  const accounts = await seedLoginAccounts(db.sql, options.loginAccounts);
  const lastBulk = options.users - options.loginAccounts;
  await seedBulkAccounts(db.sql, 1, lastBulk);
  const [admin, self] = accounts as [(typeof accounts)[0], (typeof accounts)[0]];
  await promoteToAdmin(db.sql, admin.username);
  // The account the admin reads (W1b); never used up by the round-trip runs (they count from 2).
  const other = bulkAccount(1);
  let spare = 2;
  const nextSpare = () => {
    if (spare >= lastBulk) throw new Error("out of spare accounts: raise the user count");
    return bulkAccount(spare++);
  };

  const secret = randomBytes(32).toString("base64url");
  // The bench seals the factor accounts' secrets (W2f) with the key the API is given.
  const mfaKeyBytes = new Uint8Array(randomBytes(32));
  // TRUST_PROXY=1: each request names its own client address (X-Forwarded-For), so the per-IP
  // limiter runs its query on every request and never refuses one.
  const appEnv = {
    NODE_ENV: "production",
    JWT_SECRET_KEY: secret,
    MFA_ENCRYPTION_KEY: Buffer.from(mfaKeyBytes).toString("base64"),
    TRUST_PROXY: "1",
  };

  const servers: ServerProcess[] = [];
  const target = new URL(db.url);
  const proxy = await startCountingProxy({
    host: target.hostname,
    port: Number(target.port || 5432),
  });
  try {
    log("Start-up times (Postgres, fresh and existing embedded database)…");
    let started: ServerProcess | undefined;
    const startup = await measureStartup(db.url, appEnv, rounds, duration, async () => {
      started = await startApi({ ...appEnv, DATABASE_URL: db.url });
      servers.push(started);
      return started.startupMs;
    });
    if (!started) throw new Error("the API did not start");
    const api: ServerProcess = started;
    // The baseline, a second API whose database traffic goes through the counting proxy, and a
    // third that signs with EdDSA (JWT_SIGNING_KEYS) start together: no start is measured.
    const [baseline, floor, counted, eddsa] = await Promise.all([
      startBaseline({ DATABASE_URL: db.url, JWT_SECRET_KEY: secret }),
      startHonoFloor({ DATABASE_URL: db.url, JWT_SECRET_KEY: secret }),
      startApi({ ...appEnv, DATABASE_URL: viaPort(db.url, proxy.port) }),
      startApi({ ...appEnv, DATABASE_URL: db.url, JWT_SIGNING_KEYS: benchSigningKeys() }),
    ]);
    servers.push(baseline, floor, counted, eddsa);
    await sleep(500);
    const idleRssMB = memoryOf(api.pid).rssMB;

    const selfToken = (await login(api.url, self)).access;
    const adminToken = (await login(api.url, admin)).access;
    const eddsaToken = (await login(eddsa.url, self)).access;
    const read =
      (server: ServerProcess, connections: number, who = self.username, token = selfToken) =>
      () =>
        runLoad({ url: server.url, connections, duration, requests: readUser(who, token) });
    const readOther = (server: ServerProcess) => read(server, 10, other.username, adminToken);

    log("Warm-up (not recorded)…");
    await read(api, 10)();
    await read(baseline, 10)();
    await read(eddsa, 10, self.username, eddsaToken)();

    // W1 also records each server's CPU time per request (steadier than req/s on a shared
    // machine: waiting for a core costs none), and reads the stack's own floor in the same turns.
    const w1Cpu = cpuPerRequest();
    const readMeasured = (server: ServerProcess, connections: number, name: string) => () =>
      w1Cpu.measure(
        `${name}@${connections}`,
        () => cpuSeconds(server.pid),
        read(server, connections),
      );
    const w1Turns = (connections: number) =>
      alternate(rounds, readMeasured(api, connections, "api"), async () => ({
        baseline: await readMeasured(baseline, connections, "baseline")(),
        floor: await readMeasured(floor, connections, "floor")(),
      }));
    log("W1 self-read, 10 and 50 connections: API, baseline and Hono floor in turn…");
    const w1 = await w1Turns(10);
    const w1at50 = await w1Turns(50);
    const w1CpuUs = (name: string, connections: number) => w1Cpu.median(`${name}@${connections}`);
    log("W1 with EdDSA tokens and with HS256 ones, alternately…");
    const w1eddsa = await alternate(
      rounds,
      read(eddsa, 10, self.username, eddsaToken),
      read(api, 10),
    );
    log("W1b admin reads another user…");
    const w1b = await alternate(rounds, readOther(api), readOther(baseline));

    log("W2 login vs raw argon2id verify and the baseline's bare login…");
    // Logins against `server`, recording the CPU time of its main thread (its event loop; argon2
    // runs on libuv's threads) per login under `into`.
    const loginCpu = cpuPerRequest();
    const logins =
      (server: ServerProcess, into: string, connections = 8) =>
      () =>
        loginCpu.measure(
          into,
          () => mainThreadCpuSeconds(server.pid),
          () =>
            runLoad({ url: server.url, connections, duration, requests: loginRequests(accounts) }),
        );
    const w2 = await alternate(rounds, logins(api, "api"), async () => ({
      raw: await rawVerifyRate(Math.max(0.3, duration / 3)),
      bare: await logins(baseline, "baseline")(),
    }));
    const raw = w2.b.map((b) => b.raw).reduce((best, r) => (r.rate > best.rate ? r : best));
    // The same logins one at a time: the main thread's cost of a login without argon2 threads
    // crowding the two cores (what is the code's, and what is contention's).
    await logins(api, "api, one at a time", 1)();
    await logins(baseline, "baseline, one at a time", 1)();
    const loginCpuUs = loginCpu.median;

    log("W2f login with a second factor vs W2 login, one operation at a time per connection…");
    // A fixed number of operations, each W2f one on an account of its own (its code step is
    // accepted once); W2 through the same client and at the same concurrency, alternately.
    const operations = options.factorLogins;
    let factorRun = 0;
    const w2f = await alternate(
      rounds,
      async () => {
        const from = factorRun++ * operations;
        const factorAccounts = await seedFactorAccounts(
          db.sql,
          mfaKey(mfaKeyBytes),
          from,
          operations,
        );
        return runOperations(
          8,
          factorAccounts.map((a) => factorLogin(api.url, a)),
        );
      },
      () =>
        runOperations(
          8,
          Array.from({ length: operations }, (_, i) =>
            plainLogin(api.url, accounts[i % accounts.length] as typeof self),
          ),
        ),
    );

    log("W3 register…");
    const runId = Date.now().toString(36);
    let registerRun = 0;
    const w3 = await repeat(rounds, () =>
      runLoad({
        url: api.url,
        connections: 8,
        duration,
        requests: registerRequests(`r${runId}_${registerRun++}_`),
      }),
    );

    log("W4 refresh (token rotation)…");
    const w4 = await repeat(rounds, async () => {
      // Fresh sessions each round: a token whose answer was cut off at the end of a run is consumed.
      const tokens: string[] = [];
      for (let i = 0; i < 20; i++)
        tokens.push((await login(api.url, accounts[i % accounts.length] as typeof self)).refresh);
      return runLoad({
        url: api.url,
        connections: 10,
        duration,
        requests: refreshRequests(tokens),
      });
    });

    log("Token verification, one token at a time in this process…");
    const tokens = await measureTokenVerification(options.smoke ? 100 : 2000, rounds);

    log("Memory and /health under 200 concurrent logins…");
    const memory = await measureMemory(api, accounts, duration, idleRssMB);

    log("Database round trips per operation (through a counting proxy)…");
    const roundTrips = await countRoundTrips(
      { api: counted.url, sql: db.sql, proxy, admin, self, nextSpare },
      options.warmups,
      options.samples,
    );
    await counted.stop();

    log("The API's Worker and a bare Worker in one workerd, on the local Hyperdrive…");
    const workers = await startWorkers(db.url, secret, appEnv.MFA_ENCRYPTION_KEY);
    let worker: Measured["worker"];
    try {
      const token = (await login(workers.api, self)).access;
      const postmaster = await localPostmaster(db.sql);
      worker = await measureWorkers(workers, {
        rounds,
        duration,
        self,
        token,
        accounts,
        postmaster,
      });
    } finally {
      await workers.stop();
    }

    let big: Measured["big"];
    if (options.bigUsers > 0) {
      const now = await countUsers(db.sql);
      log(`Topping the table up from ${now} to ${options.bigUsers} users…`);
      await seedBulkAccounts(db.sql, lastBulk + 1, lastBulk + options.bigUsers - now);
      const result = await alternate(rounds, read(api, 10), read(baseline, 10));
      big = { users: await countUsers(db.sql), api: result.a, baseline: medianResult(result.b) };
    }

    function pairWithFloor(turns: Awaited<ReturnType<typeof w1Turns>>, connections: number) {
      return {
        api: turns.a,
        baseline: medianResult(turns.b.map((b) => b.baseline)),
        floor: medianResult(turns.b.map((b) => b.floor)),
        cpuUs: {
          api: w1CpuUs("api", connections),
          baseline: w1CpuUs("baseline", connections),
          floor: w1CpuUs("floor", connections),
        },
      };
    }

    return {
      machine: await describeMachine(db.sql),
      settings: {
        duration,
        rounds,
        smoke: options.smoke,
        users: options.users,
        bigUsers: options.bigUsers,
      },
      ...buildRows({
        w1: pairWithFloor(w1, 10),
        w1at50: pairWithFloor(w1at50, 50),
        w1eddsa: { eddsa: w1eddsa.a, hs256: medianResult(w1eddsa.b) },
        w1b: { api: w1b.a, baseline: medianResult(w1b.b) },
        w2: w2.a,
        w2Bare: medianResult(w2.b.map((b) => b.bare)),
        loginCpuUs: {
          api: loginCpuUs("api"),
          baseline: loginCpuUs("baseline"),
          apiOneAtATime: loginCpuUs("api, one at a time"),
          baselineOneAtATime: loginCpuUs("baseline, one at a time"),
        },
        w2f: { factor: w2f.a, plain: medianResult(w2f.b), operations },
        raw,
        w3,
        w4,
        memory,
        startup,
        roundTrips,
        tokens,
        worker,
        big,
      }),
    };
  } finally {
    for (const server of servers.reverse()) await server.stop();
    await proxy.close();
  }
}
