import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESET_SENT, resetMailsTo } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";

// The contract's "same answer whatever the input" covers the time it takes: a reset request that
// answers faster when the username and email do not belong together tells which pairs do.
// Every request here would be mailed (RESET_EMAIL_INTERVAL=0) and no rate limit answers 429.
const ROUNDS = 40;
const WARM_UP = 10;

let api: ContractApi;
beforeAll(async () => {
  api = await startApi({ env: { RESET_EMAIL_INTERVAL: "0", RATE_LIMIT_FORGET_PASSWORD: "off" } });
});
afterAll(() => api.close());

/** A request's body: an email, with or without a username. */
type Pair = { username?: string; email: string };

async function timedForget(pair: Pair) {
  const started = performance.now();
  const res = await api.send("POST", "/api/user/forget_password", {
    ...(pair.username === undefined ? {} : { username: pair.username }),
    email: pair.email,
  });
  const body = await res.json();
  const ms = performance.now() - started;
  expect(res.status, JSON.stringify(body)).toBe(200);
  expect(body).toEqual(RESET_SENT);
  return ms;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length % 2
    ? (sorted[Math.floor(mid)] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/**
 * Median times of the two kinds of request, sent one at a time and interleaved (the order flipped
 * every round) so that drift in the machine's load falls on both alike.
 */
async function medians(matching: Pair, other: Pair) {
  for (let i = 0; i < WARM_UP; i++) {
    await timedForget(matching);
    await timedForget(other);
  }
  const times = { matching: [] as number[], other: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2) {
      times.matching.push(await timedForget(matching));
      times.other.push(await timedForget(other));
    } else {
      times.other.push(await timedForget(other));
      times.matching.push(await timedForget(matching));
    }
  }
  return { matching: median(times.matching), other: median(times.other) };
}

/** Medians closer than 2 ms or a quarter of the slower: noise on a loaded machine, not a signal. */
function expectIndistinguishable(m: { matching: number; other: number }) {
  const gap = Math.abs(m.matching - m.other);
  const bound = Math.max(2, 0.25 * Math.max(m.matching, m.other));
  const shown = `matching ${m.matching.toFixed(2)} ms, other ${m.other.toFixed(2)} ms`;
  console.log(`forget_password medians: ${shown}`);
  expect(gap, shown).toBeLessThan(bound);
}

describe("forget_password takes as long whether or not the pair matches an account", () => {
  it("a matching username and email vs the same username with another account's email", async () => {
    const [user, someoneElse] = [await api.createUser(), await api.createUser()];
    expectIndistinguishable(
      await medians(user, { username: user.username, email: someoneElse.email }),
    );
    // Every matching request was a real reset (a mail each), the others nothing.
    expect(await resetMailsTo(api, user.email)).toHaveLength(WARM_UP + ROUNDS);
    expect(await resetMailsTo(api, someoneElse.email)).toEqual([]);
  });

  it("a matching username and email vs a username that does not exist", async () => {
    const user = await api.createUser();
    expectIndistinguishable(
      await medians(user, { username: "nobody_here", email: "nobody_here@example.com" }),
    );
    expect(await resetMailsTo(api, user.email)).toHaveLength(WARM_UP + ROUNDS);
  });

  it("an email alone that names an account vs one that names none", async () => {
    const user = await api.createUser();
    expectIndistinguishable(
      await medians({ email: user.email }, { email: "nobody_here@example.com" }),
    );
    expect(await resetMailsTo(api, user.email)).toHaveLength(WARM_UP + ROUNDS);
  });
});
