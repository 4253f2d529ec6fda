import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { limitHashing } from "../../src/auth/hash-limiter";
import type { PasswordHasher } from "../../src/auth/password";
import { loginThrottles } from "../../src/db/schema";
import { ApiError } from "../../src/errors";
import { nodeArgon2 } from "../../src/node/argon2";
import { login } from "../support/auth-helpers";
import { FastHasher } from "../support/fakes";
import { createTestApi, type NodeTestApi } from "../support/node-api";
import { expectRateLimited, LOCKED_OUT } from "../support/session-helpers";

/** A deliberately slow hasher that records how many of its calls ever ran at once. */
class SlowHasher implements PasswordHasher {
  inFlight = 0;
  maxInFlight = 0;
  private readonly fast = new FastHasher();
  constructor(private readonly delayMs: number) {}

  private async timed<T>(work: () => Promise<T>) {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await sleep(this.delayMs);
      return await work();
    } finally {
      this.inFlight--;
    }
  }
  hash(password: string) {
    return this.timed(() => this.fast.hash(password));
  }
  verify(hash: string, password: string) {
    return this.timed(() => this.fast.verify(hash, password));
  }
}

const BUSY = { msg: expect.any(String), code: "SERVICE_UNAVAILABLE" };
const INVALID_CREDENTIALS = { msg: "Invalid username or password.", code: "UNAUTHORIZED" };

type Account = { username: string; password: string };
type Outcome = { status: number; body: unknown; retryAfter: string | null };

async function outcome(res: Response): Promise<Outcome> {
  return { status: res.status, body: await res.json(), retryAfter: res.headers.get("retry-after") };
}

/** Checks every answer of a burst against the contract; returns the count of each status. */
function tally(outcomes: Outcome[], ok: { status: number; body: unknown }[]) {
  const counts: Record<number, number> = {};
  for (const o of outcomes) {
    counts[o.status] = (counts[o.status] ?? 0) + 1;
    if (o.status === 503) {
      expect(o.body).toEqual(BUSY);
      expect(o.retryAfter).toMatch(/^[1-9]\d*$/);
    } else {
      expect(ok).toContainEqual({ status: o.status, body: o.body });
    }
  }
  return counts;
}

async function createUsers(api: NodeTestApi, count: number): Promise<Account[]> {
  const users: Account[] = [];
  for (let i = 0; i < count; i++) users.push(await api.createUser());
  return users;
}

describe("argon2 work in flight is capped by HASH_CONCURRENCY", () => {
  let slow: SlowHasher;
  let api: NodeTestApi;
  let patient: SlowHasher;
  let patientApi: NodeTestApi;
  beforeAll(async () => {
    slow = new SlowHasher(100);
    patient = new SlowHasher(100);
    [api, patientApi] = await Promise.all([
      createTestApi({ hasher: slow, env: { HASH_CONCURRENCY: "2", HASH_QUEUE_TIMEOUT_MS: "150" } }),
      createTestApi({
        hasher: patient,
        env: { HASH_CONCURRENCY: "2", HASH_QUEUE_TIMEOUT_MS: "5000" },
      }),
    ]);
  });
  afterAll(() => Promise.all([api.close(), patientApi.close()]));

  it("a burst of 30 logins: at most 2 hashes at once, 503 with Retry-After for the overflow, no 500", async () => {
    const users = await createUsers(api, 10);
    slow.maxInFlight = 0;
    // Each account gets one wrong password among its three attempts: never near a lockout.
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const user = users[i % 10] as Account;
        const password = i % 3 === 0 ? "not the password" : user.password;
        return outcome(await login(api, user.username, password));
      }),
    );
    expect(outcomes).toHaveLength(30);
    const counts = tally(outcomes, [
      { status: 200, body: expect.objectContaining({ token_type: "Bearer" }) },
      { status: 401, body: INVALID_CREDENTIALS },
    ]);
    expect(slow.maxInFlight).toBe(2);
    expect(counts[503]).toBeGreaterThan(0);
    // Some requests found the cap full, waited, and were still served.
    expect((counts[200] ?? 0) + (counts[401] ?? 0)).toBeGreaterThan(2);

    // Afterwards the API serves normally.
    for (const user of users) {
      expect((await login(api, user.username, user.password)).status).toBe(200);
    }
  });

  it("a burst of registrations shares the cap; a refused one creates nothing", async () => {
    slow.maxInFlight = 0;
    const names = Array.from({ length: 12 }, (_, i) => `capped_reg_${i}`);
    const outcomes = await Promise.all(
      names.map(async (username) =>
        outcome(
          await api.send("POST", "/api/user/register", {
            username,
            first_name: "Capped",
            last_name: "Register",
            email: `${username}@example.com`,
            password: `pw-${username}-secret`,
          }),
        ),
      ),
    );
    tally(outcomes, [{ status: 201, body: { msg: "User registered successfully." } }]);
    expect(slow.maxInFlight).toBe(2);
    for (const [i, username] of names.entries()) {
      const row = await api.userRow(username);
      if ((outcomes[i] as Outcome).status === 503) expect(row).toBeUndefined();
      else expect(row).toBeDefined();
    }
  });

  it("requests that find the cap full wait their turn when it comes within the timeout", async () => {
    const users = await createUsers(patientApi, 3);
    patient.maxInFlight = 0;
    const statuses = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const user = users[i % 3] as Account;
        return (await login(patientApi, user.username, user.password)).status;
      }),
    );
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    expect(patient.maxInFlight).toBe(2);
  });
});

/** A hasher whose password checks wait while the test holds the gate (all, or one password's). */
class GatedHasher implements PasswordHasher {
  private readonly fast = new FastHasher();
  private gate = Promise.resolve();
  private release = () => {};
  private onlyFor: string | undefined;
  waiting = 0;

  hold(onlyFor?: string) {
    this.onlyFor = onlyFor;
    this.gate = new Promise<void>((resolve) => {
      this.release = resolve;
    });
  }
  open() {
    this.release();
  }
  hash(password: string) {
    return this.fast.hash(password);
  }
  async verify(hash: string, password: string) {
    if (this.onlyFor === undefined || this.onlyFor === password) {
      this.waiting++;
      await this.gate;
      this.waiting--;
    }
    return this.fast.verify(hash, password);
  }
}

const until = async (done: () => boolean) => {
  while (!done()) await sleep(5);
};

describe("at most 512 requests wait for a hashing slot", () => {
  // Stated here, not imported: the test pins the bound.
  const MAX_WAITING = 512;

  it("the 513th waiter is refused with 503 at once; those already waiting are served", async () => {
    const gated = new GatedHasher();
    const capped = limitHashing(gated, { hashConcurrency: 1, hashQueueTimeoutMs: 30_000 });
    gated.hold();
    const admitted = Array.from({ length: 1 + MAX_WAITING }, () =>
      capped.verify("$fake$x", "password"),
    );
    const refused = capped.verify("$fake$x", "password");
    const saturated = capped.saturated?.();
    gated.open();
    const outcomes = await Promise.allSettled([...admitted, refused]);
    expect(saturated).toBe(true);
    expect(outcomes.slice(0, -1).every((o) => o.status === "fulfilled")).toBe(true);
    const last = outcomes.at(-1) as PromiseRejectedResult;
    expect(last.status).toBe("rejected");
    expect(last.reason).toBeInstanceOf(ApiError);
    expect(last.reason).toMatchObject({ status: 503, body: BUSY });
  });

  describe("over HTTP", () => {
    let gated: GatedHasher;
    let api: NodeTestApi;
    beforeAll(async () => {
      gated = new GatedHasher();
      api = await createTestApi({
        hasher: gated,
        env: { HASH_CONCURRENCY: "1", HASH_QUEUE_TIMEOUT_MS: "30000" },
      });
    });
    afterAll(() => api.close());
    let parked: Promise<Response>[] = [];
    // A failed test must not leave requests waiting on the gate.
    afterEach(async () => {
      gated.open();
      await Promise.allSettled(parked);
    });

    it("while the queue is full, login and register get 503 before any database work", async () => {
      gated.hold();
      // One login holds the only slot; 512 wait for it. Unknown names: verified against the
      // dummy hash, each a failure of its own name.
      parked = Array.from({ length: 1 + MAX_WAITING }, (_, i) =>
        login(api, `queued_${i}`, "some password"),
      );
      const saturated = () => api.deps.hasher.saturated?.() === true;
      const deadline = Date.now() + 30_000;
      await until(() => saturated() || Date.now() > deadline);
      expect(saturated()).toBe(true);
      const throttleRows = await api.db.select().from(loginThrottles);

      const refusedLogin = await outcome(await login(api, "one_too_many", "some password"));
      const registration = {
        username: "queue_full",
        first_name: "Queue",
        last_name: "Full",
        email: "queue_full@example.com",
        password: "pw-queue_full-secret",
      };
      const refusedRegister = await outcome(
        await api.send("POST", "/api/user/register", registration),
      );
      for (const refused of [refusedLogin, refusedRegister]) {
        expect(refused).toEqual({ status: 503, body: BUSY, retryAfter: "1" });
      }
      expect(await api.db.select().from(loginThrottles)).toEqual(throttleRows);
      expect(await api.userRow("queue_full")).toBeUndefined();

      gated.open();
      const served = await Promise.all(parked.map(async (res) => outcome(await res)));
      expect(served).toEqual(
        parked.map(() => ({ status: 401, body: INVALID_CREDENTIALS, retryAfter: null })),
      );
    }, 60_000);
  });
});

describe("the account lockout under concurrent logins", () => {
  let slow: SlowHasher;
  let api: NodeTestApi;
  let gated: GatedHasher;
  let wideApi: NodeTestApi;
  let narrowApi: NodeTestApi;
  beforeAll(async () => {
    slow = new SlowHasher(50);
    gated = new GatedHasher();
    [api, wideApi, narrowApi] = await Promise.all([
      createTestApi({ hasher: slow, env: { HASH_CONCURRENCY: "64" } }),
      createTestApi({ hasher: gated, env: { HASH_CONCURRENCY: "64" } }),
      createTestApi({
        hasher: gated,
        env: { HASH_CONCURRENCY: "1", HASH_QUEUE_TIMEOUT_MS: "50" },
      }),
    ]);
  });
  afterAll(() => Promise.all([api.close(), wideApi.close(), narrowApi.close()]));

  it("while argon2 is slow, 20 concurrent wrong guesses get only 5 answers; the rest 429", async () => {
    const user = await api.createUser();
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => outcome(await login(api, user.username, `g${i}`))),
    );
    const statuses = outcomes.map((o) => o.status).sort();
    expect(statuses).toEqual([...Array(5).fill(401), ...Array(15).fill(429)]);
  });

  it("the right password, checked while concurrent guesses lock the account, gets 429", async () => {
    const user = await wideApi.createUser();
    gated.hold(user.password);
    const right = login(wideApi, user.username, user.password);
    await until(() => gated.waiting === 1);
    const guesses = await Promise.all(
      Array.from({ length: 5 }, (_, i) => login(wideApi, user.username, `guess ${i}`)),
    );
    expect(guesses.map((res) => res.status)).toEqual([401, 401, 401, 401, 401]);
    gated.open();
    const retryAfter = await expectRateLimited(await right, LOCKED_OUT);
    expect(retryAfter).toBe(60);
  });

  it("a login refused with 503 for busy hashing is not counted as a failed login", async () => {
    const user = await narrowApi.createUser();
    // One guess holds the only hashing slot until the gate opens; the other four give up
    // waiting (503) without their password being checked.
    gated.hold();
    let answered = 0;
    const pending = Array.from({ length: 5 }, async (_, i) => {
      const res = await login(narrowApi, user.username, `guess ${i}`);
      answered++;
      return res.status;
    });
    await until(() => answered === 4);
    gated.open();
    expect((await Promise.all(pending)).sort()).toEqual([401, 503, 503, 503, 503]);

    // Only that one failure counts: three more still get 401, and the right password 200.
    for (let i = 0; i < 3; i++) {
      expect((await login(narrowApi, user.username, `later guess ${i}`)).status).toBe(401);
    }
    expect((await login(narrowApi, user.username, user.password)).status).toBe(200);
  });
});

describe("a login burst against real argon2id with the default cap", () => {
  let api: NodeTestApi;
  beforeAll(async () => {
    api = await createTestApi({ hasher: nodeArgon2 });
  });
  afterAll(() => api.close());

  it("answers all 40 logins without a 500 and with bounded memory", async () => {
    // Eight accounts: at most three of the burst's logins share one.
    const users = await createUsers(api, 8);
    await login(api, "warm_up_nobody", "warm up argon2");
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);

    const outcomes = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const user = users[i % 8] as Account;
        // Half right passwords, half unknown names (verified against the dummy hash).
        const res =
          i % 2 === 0
            ? await login(api, user.username, user.password)
            : await login(api, `nobody_${i}`, "some password");
        return outcome(res);
      }),
    );
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);

    expect(outcomes).toHaveLength(40);
    tally(outcomes, [
      { status: 200, body: expect.objectContaining({ token_type: "Bearer" }) },
      { status: 401, body: INVALID_CREDENTIALS },
    ]);
    // Each argon2id call holds ~19 MiB; 40 at once would be ~760 MiB. The cap of 4 keeps the
    // growth near 4 × 19 MiB; the bound leaves room for everything else the process does.
    const growthMiB = (peak - before) / 2 ** 20;
    expect(growthMiB).toBeLessThan(300);

    for (const user of users) {
      expect((await login(api, user.username, user.password)).status).toBe(200);
    }
  });
});
