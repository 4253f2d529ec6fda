import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "vitest";
import type { Database } from "../../src/db/database";
import { serviceUnavailable } from "../../src/errors";
import { findByUsername } from "../../src/users/user.store";
import type { apiClient } from "./api-client";

// A steady mixed load for the database-outage tests of both runtimes: each kind of request in
// its own loops, one request at a time per loop, every answer recorded with when it was sent and
// answered. The tests cut the database under it and judge the record.

type Api = Pick<ReturnType<typeof apiClient>, "send" | "request" | "signedIn">;

const KINDS = ["read", "login", "register", "update", "ready", "health"] as const;
export type Kind = (typeof KINDS)[number];

export type Registration = {
  username: string;
  first_name: string;
  last_name: string;
  email: string;
  password: string;
};

/** One request: sent and answered (ms on the performance clock), its status and body. */
export type Outcome = {
  kind: Kind;
  sent: number;
  answered: number;
  status: number;
  body: unknown;
  retryAfter: string | null;
  registration?: Registration;
};

/** Longer than any answer may take: a request still unanswered then is recorded as hung (0). */
const HANG_MS = 15_000;
/** Between two requests of one loop, so the load is steady rather than a flood. */
const PAUSE_MS = 25;

type MixedLoad = {
  readonly outcomes: readonly Outcome[];
  /** Stops sending and waits for every request still out (a hung one counts as answered). */
  stop(): Promise<Outcome[]>;
};

/**
 * Starts the load: reads of an account, logins, registrations of fresh accounts, admin updates,
 * /ready and /health, each kind in `loopsPerKind` loops.
 */
async function startMixedLoad(api: Api, loopsPerKind: number): Promise<MixedLoad> {
  const user = await api.signedIn();
  const admin = await api.signedIn({ role: "ADMIN" });
  const tag = Math.random().toString(36).slice(2, 7);
  let registered = 0;

  const requests: Record<Kind, () => [Promise<Response>, Registration?]> = {
    read: () => [api.send("GET", `/api/user/${user.username}`, undefined, user.token)],
    login: () => [
      api.send("POST", "/api/user/login", { username: user.username, password: user.password }),
    ],
    register: () => {
      const username = `load_${tag}_${++registered}`;
      const registration = {
        username,
        first_name: "Load",
        last_name: `Number ${registered}`,
        email: `${username}@example.com`,
        password: `pw-${username}-secret`,
      };
      return [api.send("POST", "/api/user/register", registration), registration];
    },
    update: () => [
      api.send("PUT", `/api/user/${user.username}`, { last_name: `L${Date.now()}` }, admin.token),
    ],
    ready: () => [api.request("/ready")],
    health: () => [api.request("/health")],
  };

  const outcomes: Outcome[] = [];
  let running = true;
  const loop = async (kind: Kind) => {
    while (running) {
      const sent = performance.now();
      const [pending, registration] = requests[kind]();
      const outcome = await Promise.race([answer(pending), sleep(HANG_MS, undefined)]);
      outcomes.push({
        kind,
        sent,
        answered: performance.now(),
        status: outcome?.status ?? 0,
        body: outcome?.body,
        retryAfter: outcome?.retryAfter ?? null,
        registration,
      });
      await sleep(PAUSE_MS);
    }
  };
  const loops = KINDS.flatMap((kind) => Array.from({ length: loopsPerKind }, () => loop(kind)));

  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(loops);
      return outcomes;
    },
  };
}

async function answer(pending: Promise<Response>) {
  const res = await pending;
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body, retryAfter: res.headers.get("retry-after") };
}

/** Polls `done` until it holds or `maxMs` passed. */
async function waitFor(done: () => boolean, maxMs: number) {
  const until = performance.now() + maxMs;
  while (!done() && performance.now() < until) await sleep(20);
}

const succeeded = (o: Outcome) => o.status >= 200 && o.status < 300;
const unavailable = (o: Outcome) => o.status === 503;

/** Every kind that touches the database has an answer sent after `since` that satisfies `ok`. */
const everyDatabaseKind = (
  outcomes: readonly Outcome[],
  since: number,
  ok: (o: Outcome) => boolean,
) =>
  KINDS.filter((k) => k !== "health").every((kind) =>
    outcomes.some((o) => o.kind === kind && o.sent >= since && ok(o)),
  );

/** A load run with the database lost in its middle; times on the performance clock. */
export type OutageRun = { outcomes: Outcome[]; cutAt: number; restoreAt: number };

/**
 * Runs the mixed load, waits until every kind has succeeded, loses the database (`cut`) until
 * every kind that touches it has been answered 503 for a request sent after the cut (and at least
 * `minOutageMs`), brings it back (`restore`), waits until every kind has succeeded again and a
 * little longer, and stops the load.
 */
export async function loseDatabaseUnderLoad(
  api: Api,
  outage: { cut(): Promise<void>; restore(): Promise<void>; loopsPerKind: number },
  minOutageMs = 1500,
): Promise<OutageRun> {
  const load = await startMixedLoad(api, outage.loopsPerKind);
  await waitFor(() => everyDatabaseKind(load.outcomes, 0, succeeded), 15_000);
  await outage.cut();
  const cutAt = performance.now();
  await sleep(minOutageMs);
  await waitFor(() => everyDatabaseKind(load.outcomes, cutAt, unavailable), 10_000);
  const restoreAt = performance.now();
  await outage.restore();
  await waitFor(() => everyDatabaseKind(load.outcomes, restoreAt, succeeded), 10_000);
  await sleep(300);
  return { outcomes: await load.stop(), cutAt, restoreAt };
}

/** What the tests report for docs/security.md ("Database loss under load"): how fast the outage showed and how fast it healed. */
export type OutageFigures = {
  /** From the cut to the last kind's first 503 (each kind's first 503, the slowest of them). */
  firstUnavailableMs: number;
  /** The slowest answer to a request sent during the outage. */
  slowestDuringOutageMs: number;
  /** From the restore to the first success after which every request succeeded. */
  recoveredAfterMs: number;
};

/**
 * Judges a load run cut at `cutAt` and restored at `restoreAt` against the contract:
 * - no request hangs, every request is answered within 5 s;
 * - before the cut everything succeeds; /health answers 200 throughout;
 * - from the cut on, every request that touches the database and is answered before the restore
 *   gets 503 SERVICE_UNAVAILABLE with Retry-After (the one error body, nothing internal), and
 *   /ready turns 503;
 * - within 5 s of the restore, requests succeed again, and from then on all of them do.
 */
export function expectOutageHandled({ outcomes, cutAt, restoreAt }: OutageRun): OutageFigures {
  const unavailableBody = serviceUnavailable().body;
  const at = (o: Outcome) =>
    `${o.kind} sent ${(o.sent - cutAt).toFixed(0)} ms after the cut, answered ${o.status} after ${(o.answered - o.sent).toFixed(0)} ms: ${JSON.stringify(o.body)}`;

  for (const o of outcomes) {
    expect(o.status, `hung: ${at(o)}`).not.toBe(0);
    expect(o.answered - o.sent, `too slow: ${at(o)}`).toBeLessThan(5000);
    if (o.kind === "health") expect(o.status, at(o)).toBe(200);
  }
  for (const o of outcomes.filter((o) => o.answered < cutAt)) {
    expect(succeeded(o), `before the cut: ${at(o)}`).toBe(true);
  }
  const duringOutage = outcomes.filter(
    (o) => o.kind !== "health" && o.sent >= cutAt && o.answered < restoreAt,
  );
  for (const o of duringOutage) {
    expect(o.status, `during the outage: ${at(o)}`).toBe(503);
    expect(o.body, at(o)).toEqual(unavailableBody);
    expect(o.retryAfter, at(o)).toBe(serviceUnavailable().options.headers?.["Retry-After"]);
  }
  // Requests in flight at the cut may still succeed, but must be answered in time too.
  for (const o of outcomes.filter((o) => o.sent < cutAt && o.answered >= cutAt)) {
    expect(succeeded(o) || unavailable(o), `in flight at the cut: ${at(o)}`).toBe(true);
  }

  const firstUnavailable = KINDS.filter((k) => k !== "health").map((kind) => {
    const first = outcomes.find((o) => o.kind === kind && o.answered >= cutAt && unavailable(o));
    expect(first, `no 503 for ${kind} after the cut`).toBeDefined();
    return (first?.answered ?? Number.POSITIVE_INFINITY) - cutAt;
  });

  // Recovery: the earliest success after the restore from which every later request succeeded.
  const after = outcomes.filter((o) => o.sent >= restoreAt).sort((a, b) => a.sent - b.sent);
  const lastFailure = after.findLast((o) => !succeeded(o));
  const healthy = after.filter((o) => succeeded(o) && (!lastFailure || o.sent > lastFailure.sent));
  expect(healthy.length, "requests succeed again after the restore").toBeGreaterThan(0);
  for (const kind of KINDS) {
    expect(
      healthy.some((o) => o.kind === kind),
      `${kind} succeeds again after the restore`,
    ).toBe(true);
  }
  const recoveredAfterMs = (healthy[0]?.answered ?? Number.POSITIVE_INFINITY) - restoreAt;
  expect(recoveredAfterMs, "recovered within 5 s of the restore").toBeLessThan(5000);

  return {
    firstUnavailableMs: Math.max(...firstUnavailable),
    slowestDuringOutageMs: Math.max(...duringOutage.map((o) => o.answered - o.sent)),
    recoveredAfterMs,
  };
}

/**
 * Every registration that got 201 exists, whole; one that got an error either left nothing or (its
 * commit landed as the connection died, before the answer could come back) a whole account, never
 * a part of one. Whole: every field as sent, and its password logs in (checked through `api` for
 * the refused ones that exist and the last one created). Returns the counts, with how many of the
 * refused ones were created all the same. `db` reads the database directly.
 */
export async function expectRegistrationsWhole(
  api: Api,
  db: Database,
  outcomes: readonly Outcome[],
): Promise<{ created: number; refused: number; refusedYetCreated: number }> {
  const registrations = outcomes.filter((o) => o.kind === "register");
  const lastCreated = registrations.findLast((o) => o.status === 201);
  let refusedYetCreated = 0;
  for (const o of registrations) {
    const sent = o.registration as Registration;
    const row = await findByUsername(db, sent.username);
    if (o.status === 201) expect(row, `${sent.username} got 201`).toBeDefined();
    else expect(o.status, JSON.stringify(o.body)).toBe(503);
    if (!row) continue;
    if (o.status !== 201) refusedYetCreated++;
    expect(row, sent.username).toMatchObject({
      username: sent.username,
      email: sent.email,
      firstName: sent.first_name,
      lastName: sent.last_name,
      role: "USER",
      active: true,
      passwordHash: expect.stringMatching(/^\$/),
    });
    if (o.status !== 201 || o === lastCreated) {
      const login = { username: sent.username, password: sent.password };
      const res = await api.send("POST", "/api/user/login", login);
      expect(res.status, `${sent.username} logs in`).toBe(200);
    }
  }
  return {
    created: registrations.filter((o) => o.status === 201).length,
    refused: registrations.filter((o) => o.status !== 201).length,
    refusedYetCreated,
  };
}
