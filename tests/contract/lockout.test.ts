import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loginThrottles } from "../../src/db/schema";
import { login, requestResetToken, resetPassword, rowOf } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";
import {
  expectRateLimited,
  expireLockouts,
  LOCKED_OUT,
  sessionsOfUser,
} from "../support/session-helpers";

let api: ContractApi;
beforeAll(async () => {
  api = await startApi({ env: { EXPOSE_RESET_TOKEN: "true" } });
});
afterAll(() => api.close());

const THRESHOLD = 5;
const INVALID_CREDENTIALS = { msg: "Invalid username or password.", code: "UNAUTHORIZED" };

/** `count` wrong passwords in a row, each answered with the plain 401. */
async function failLogins(username: string, count: number) {
  for (let i = 0; i < count; i++) {
    const res = await login(api, username, `wrong password ${i}`);
    expect(res.status, `failure ${i + 1}`).toBe(401);
    expect(await res.json()).toEqual(INVALID_CREDENTIALS);
  }
}

/** The lockout answer; returns Retry-After. The server's clock may have moved a little. */
async function expectLockedFor(res: Response, seconds: number) {
  const retryAfter = await expectRateLimited(res, LOCKED_OUT);
  expect(retryAfter).toBeGreaterThan(seconds - 5);
  expect(retryAfter).toBeLessThanOrEqual(seconds);
  return retryAfter;
}

describe("an account is locked after LOGIN_LOCKOUT_THRESHOLD consecutive failed logins", () => {
  it("answers the first five failures with 401, then 429 RATE_LIMITED with Retry-After 60", async () => {
    const user = await api.createUser();
    await failLogins(user.username, THRESHOLD);
    await expectLockedFor(await login(api, user.username, "wrong again"), 60);
  });

  it("refuses even the right password while locked, starting no session", async () => {
    const user = await api.createUser();
    const { id } = await rowOf(api, user.username);
    await failLogins(user.username, THRESHOLD);
    await expectLockedFor(await login(api, user.username, user.password), 60);
    expect(await sessionsOfUser(api, id)).toEqual([]);
  });

  it("does not lock after four failures", async () => {
    const user = await api.createUser();
    await failLogins(user.username, THRESHOLD - 1);
    expect((await login(api, user.username, user.password)).status).toBe(200);
  });

  it("locks only that account", async () => {
    const [victim, bystander] = [await api.createUser(), await api.createUser()];
    await failLogins(victim.username, THRESHOLD);
    expect((await login(api, bystander.username, bystander.password)).status).toBe(200);
  });

  it("counts each login name as typed (any case): the username and the email apart", async () => {
    const user = await api.createUser();
    await failLogins(user.username, 2);
    await failLogins(user.username.toUpperCase(), 3);
    await expectLockedFor(await login(api, user.username, user.password), 60);
    // The email is its own name: locking it from the username would tell an attacker which
    // email belongs to the account, something an unknown email could never show.
    expect((await login(api, user.email, "still a wrong password")).status).toBe(401);
    expect((await login(api, user.email.toUpperCase(), user.password)).status).toBe(200);
  });

  it("locking a username says nothing about its email: it answers like an unknown email", async () => {
    const user = await api.createUser();
    await failLogins(user.username, THRESHOLD);
    const owned = await login(api, user.email, "a guess");
    const unrelated = await login(api, `nobody_${user.username}@example.com`, "a guess");
    expect(owned.status).toBe(401);
    expect(unrelated.status).toBe(401);
    expect(await owned.json()).toEqual(await unrelated.json());
  });

  it("a password reset lifts the lock on both the username and the email", async () => {
    const user = await api.createUser();
    await failLogins(user.username, THRESHOLD);
    await failLogins(user.email, THRESHOLD);
    const token = await requestResetToken(api, user);
    expect((await resetPassword(api, token, "both names unlocked")).status).toBe(200);
    expect((await login(api, user.username, "both names unlocked")).status).toBe(200);
    expect((await login(api, user.email, "both names unlocked")).status).toBe(200);
  });
});

describe("concurrent guesses cannot slip past the lockout", () => {
  it("of 20 wrong passwords sent at once, 5 get 401 and the other 15 get 429", async () => {
    const user = await api.createUser();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => login(api, user.username, `burst guess ${i}`)),
    );
    const statuses = answers.map((res) => res.status).sort();
    expect(statuses).toEqual([...Array(5).fill(401), ...Array(15).fill(429)]);
    await expectLockedFor(await login(api, user.username, user.password), 60);
  });
});

describe("a successful login resets the failure count", () => {
  it("four failures, a success, and four more failures do not lock", async () => {
    const user = await api.createUser();
    await failLogins(user.username, THRESHOLD - 1);
    expect((await login(api, user.username, user.password)).status).toBe(200);
    await failLogins(user.username, THRESHOLD - 1);
    expect((await login(api, user.username, user.password)).status).toBe(200);
  });

  it("leaves no failure record behind", async () => {
    const user = await api.createUser();
    const before = await api.db.select().from(loginThrottles);
    await failLogins(user.username, 2);
    expect(await api.db.select().from(loginThrottles)).toHaveLength(before.length + 1);
    expect((await login(api, user.username, user.password)).status).toBe(200);
    expect(await api.db.select().from(loginThrottles)).toHaveLength(before.length);
  });
});

describe("the lockout grows with each further failure", () => {
  it("once a lock ends the next failure locks for 120 s, then 240 s", async () => {
    const user = await api.createUser();
    await failLogins(user.username, THRESHOLD);
    await expectLockedFor(await login(api, user.username, user.password), 60);

    await expireLockouts(api);
    await failLogins(user.username, 1);
    await expectLockedFor(await login(api, user.username, user.password), 120);

    await expireLockouts(api);
    await failLogins(user.username, 1);
    await expectLockedFor(await login(api, user.username, user.password), 240);
  });

  it("once a lock ends the right password logs in and clears the count", async () => {
    const user = await api.createUser();
    await failLogins(user.username, THRESHOLD);
    await expireLockouts(api);
    expect((await login(api, user.username, user.password)).status).toBe(200);
    await failLogins(user.username, THRESHOLD - 1);
    expect((await login(api, user.username, user.password)).status).toBe(200);
  });
});

describe("a password reset lifts the lock", () => {
  it("the new password logs in at once, and the count starts over", async () => {
    const user = await api.createUser();
    await failLogins(user.username, THRESHOLD);
    await expectLockedFor(await login(api, user.username, user.password), 60);

    const token = await requestResetToken(api, user);
    expect((await resetPassword(api, token, "unlocked by the mailbox")).status).toBe(200);
    expect((await login(api, user.username, "unlocked by the mailbox")).status).toBe(200);
    await failLogins(user.username, THRESHOLD - 1);
    expect((await login(api, user.email, "unlocked by the mailbox")).status).toBe(200);
  });
});

describe("an unknown username is throttled exactly like a real account", () => {
  it("gives the same statuses, bodies and Retry-After as a real account", async () => {
    const user = await api.createUser();
    const unknown = `ghost_${user.username}`;
    for (let i = 0; i < THRESHOLD; i++) {
      const [real, ghost] = [
        await login(api, user.username, "wrong"),
        await login(api, unknown, "wrong"),
      ];
      expect([real.status, ghost.status]).toEqual([401, 401]);
      expect(await ghost.json()).toEqual(await real.json());
    }
    const real = await expectLockedFor(await login(api, user.username, "wrong"), 60);
    const ghost = await expectLockedFor(await login(api, unknown, "wrong"), 60);
    expect(Math.abs(real - ghost)).toBeLessThanOrEqual(1);
    expect(await api.userRow(unknown)).toBeUndefined();
  });

  it("grows the same way once its lock ends", async () => {
    const unknown = "ghost_grows";
    await failLogins(unknown, THRESHOLD);
    await expectLockedFor(await login(api, unknown, "wrong"), 60);
    await expireLockouts(api);
    await failLogins(unknown, 1);
    await expectLockedFor(await login(api, unknown, "wrong"), 120);
  });

  it("an unknown email too, in any letter case", async () => {
    await failLogins("Ghost.Mail@example.com", 3);
    await failLogins("ghost.mail@EXAMPLE.com", 2);
    await expectLockedFor(await login(api, "GHOST.MAIL@example.com", "wrong"), 60);
  });
});

describe("every spelling that logs in to an account shares its lockout", () => {
  // Postgres lower('İ') (U+0130) is 'i', the account lookup's own folding; JavaScript's
  // 'İ'.toLowerCase() is 'i̇' (two code points). Keyed by the latter, each 'i' in a name doubled
  // the guesses allowed per lockout.
  const DOTTED_I = "\u0130";
  let counter = 0;
  /** An account named kiwi<digits> and spellings of its name that find it. */
  async function kiwi() {
    counter++;
    const name = `kiwi${counter}${Math.floor(Math.random() * 1e6)}`;
    const user = await api.createUser({ name });
    const dotted = (at: number[]) =>
      [...name].map((ch, i) => (at.includes(i) ? DOTTED_I : ch)).join("");
    return {
      user,
      spellings: [name, name.toUpperCase(), dotted([1]), dotted([3]), dotted([1, 3])],
    };
  }

  it("each spelling logs in to the account (the lookup folds İ to i)", async () => {
    const { user, spellings } = await kiwi();
    for (const spelling of spellings) {
      expect((await login(api, spelling, user.password)).status, spelling).toBe(200);
    }
  });

  it("after five failures as kiwi, the right password typed as kİwi, KIWI or kİwİ gets 429", async () => {
    const { user, spellings } = await kiwi();
    const { id } = await rowOf(api, user.username);
    await failLogins(user.username, THRESHOLD);
    for (const spelling of spellings) {
      await expectLockedFor(await login(api, spelling, user.password), 60);
    }
    expect(await sessionsOfUser(api, id)).toEqual([]);
  });

  it("failures spread over the spellings add up to one lockout", async () => {
    const { user, spellings } = await kiwi();
    for (const spelling of spellings) await failLogins(spelling, 1);
    await expectLockedFor(await login(api, user.username, user.password), 60);
    await expectLockedFor(await login(api, spellings[4] as string, user.password), 60);
  });

  it("an email spelled with İ counts against the email's lockout", async () => {
    const { user } = await kiwi();
    await failLogins(user.email.replace("i", DOTTED_I), THRESHOLD);
    await expectLockedFor(await login(api, user.email, user.password), 60);
    expect((await login(api, user.username, user.password)).status).toBe(200);
  });

  it("a password reset lifts the lock earned through any spelling", async () => {
    const { user, spellings } = await kiwi();
    await failLogins(spellings[4] as string, THRESHOLD);
    await expectLockedFor(await login(api, spellings[4] as string, user.password), 60);
    const token = await requestResetToken(api, user);
    expect((await resetPassword(api, token, "a fresh kiwi password")).status).toBe(200);
    expect((await login(api, spellings[4] as string, "a fresh kiwi password")).status).toBe(200);
  });

  it("an unknown name is throttled across its spellings exactly like a real one", async () => {
    const unknown = `zizi${Math.floor(Math.random() * 1e6)}`;
    await failLogins(unknown, 2);
    await failLogins(unknown.replace("i", DOTTED_I), 2);
    await failLogins(unknown.replaceAll("i", DOTTED_I), 1);
    await expectLockedFor(await login(api, unknown, "wrong"), 60);
  });
});
