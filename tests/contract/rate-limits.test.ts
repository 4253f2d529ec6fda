import { setTimeout as sleep } from "node:timers/promises";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { auditLog, passwordResetTokens, rateLimits } from "../../src/db/schema";
import {
  login,
  RESET_SENT,
  requestResetToken,
  resetMailsTo,
  resetPassword,
  resetRowsOf,
  rowOf,
  sha256Hex,
} from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";
import {
  awayFromStepEdge,
  codeAt,
  enrolledUser,
  factorState,
  loginMfa,
  passwordStep,
  wrongCode,
} from "../support/mfa-helpers";
import {
  expectRateLimited,
  loginPair,
  refresh,
  refreshPair,
  refreshRowOf,
  sessionsOfUser,
} from "../support/session-helpers";

// A day-long window: a window boundary falling inside a test (which would restore the budget on
// the Worker's real clock) is then practically impossible.
const DAY = 86_400;
const LIMITED = `3/${DAY}`;

let limited: ContractApi;
let defaults: ContractApi;
beforeAll(async () => {
  [limited, defaults] = await Promise.all([
    startApi({
      env: {
        EXPOSE_RESET_TOKEN: "true",
        RATE_LIMIT_LOGIN: LIMITED,
        RATE_LIMIT_REGISTER: LIMITED,
        RATE_LIMIT_FORGET_PASSWORD: LIMITED,
        RATE_LIMIT_RESET_PASSWORD: LIMITED,
        RATE_LIMIT_REFRESH: LIMITED,
        RATE_LIMIT_LOGIN_MFA: LIMITED,
      },
    }),
    // An empty value means unset: the contract's defaults (forget_password 5/60, one reset mail
    // per 60 s), with login limits explicitly off.
    startApi({
      env: { RATE_LIMIT_FORGET_PASSWORD: "", RESET_EMAIL_INTERVAL: "", RATE_LIMIT_LOGIN: "off" },
    }),
  ]);
});
afterAll(() => Promise.all([limited.close(), defaults.close()]));

/** Every client starts each test with a full budget (the tests' own setup requests are free). */
const freshBudgets = (api: ContractApi) => api.db.delete(rateLimits);
beforeEach(() => Promise.all([freshBudgets(limited), freshBudgets(defaults)]));

let counter = 0;
const registration = () => {
  counter++;
  const username = `rl${counter}_${Math.random().toString(36).slice(2, 8)}`;
  return {
    username,
    first_name: "Rate",
    last_name: "Limited",
    email: `${username}@example.com`,
    password: `pw-${username}-secret`,
  };
};

const forget = (api: ContractApi, user: { username: string; email: string }) =>
  api.send("POST", "/api/user/forget_password", { username: user.username, email: user.email });

/** Asserts a per-IP 429 whose Retry-After lies inside the window. */
async function expectOverLimit(res: Response, windowSeconds: number) {
  const retryAfter = await expectRateLimited(res);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
}

describe("RATE_LIMIT_REGISTER", () => {
  it("answers the request after the limit with 429 and Retry-After, creating nothing", async () => {
    for (let i = 0; i < 3; i++) {
      const res = await limited.send("POST", "/api/user/register", registration());
      expect(res.status).toBe(201);
    }
    const over = registration();
    await expectOverLimit(await limited.send("POST", "/api/user/register", over), DAY);
    expect(await limited.userRow(over.username)).toBeUndefined();
  });
});

describe("RATE_LIMIT_LOGIN", () => {
  it("answers the login after the limit with 429 even with the right password, starting no session", async () => {
    const user = await limited.createUser();
    const { id } = await rowOf(limited, user.username);
    await freshBudgets(limited);
    for (let i = 0; i < 3; i++) {
      expect((await login(limited, user.username, user.password)).status).toBe(200);
    }
    await expectOverLimit(await login(limited, user.username, user.password), DAY);
    expect(await sessionsOfUser(limited, id)).toHaveLength(3);
  });
});

describe("RATE_LIMIT_LOGIN also counts the routes that check the caller's password", () => {
  it("POST /api/me/password and DELETE /api/me share the login budget, changing nothing over it", async () => {
    const user = await limited.signedIn();
    const before = await rowOf(limited, user.username);
    await freshBudgets(limited);
    const recorded = await rateLimitEntries();
    const wrong = { current_password: "not the password", new_password: "a new long passphrase" };
    expect((await limited.send("POST", "/api/me/password", wrong, user.token)).status).toBe(401);
    expect((await limited.send("DELETE", "/api/me", { password: "nope" }, user.token)).status).toBe(
      401,
    );
    expect((await login(limited, user.username, user.password)).status).toBe(200);
    // The fourth password check from this client in the window, with the right password.
    const right = { current_password: user.password, new_password: "a new long passphrase" };
    await expectOverLimit(await limited.send("POST", "/api/me/password", right, user.token), DAY);
    await expectOverLimit(
      await limited.send("DELETE", "/api/me", { password: user.password }, user.token),
      DAY,
    );
    expect((await rowOf(limited, user.username)).passwordHash).toBe(before.passwordHash);
    // The audit log says once per window that this client went over: two refusals, one entry.
    expect(await rateLimitEntries()).toBe(recorded + 1);
  });
});

/** How many per-IP refusals of password checks the audit log holds (login.throttled, rate_limit). */
const rateLimitEntries = async () =>
  (
    await limited.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "login.throttled"), eq(auditLog.detail, "rate_limit")))
  ).length;

describe("RATE_LIMIT_LOGIN_MFA", () => {
  it("answers the login's second step after the limit with 429, even with the right code, spending nothing", async () => {
    const user = await enrolledUser(limited);
    await freshBudgets(limited);
    await awayFromStepEdge(limited);
    const mfa_token = await passwordStep(limited, user.username, user.password);
    for (let i = 0; i < 3; i++) {
      const res = await loginMfa(limited, { mfa_token, code: wrongCode(limited, user.secret) });
      expect(res.status).toBe(401);
    }
    const before = await factorState(limited, user.username);
    const right = { mfa_token, code: codeAt(limited, user.secret) };
    await expectOverLimit(await loginMfa(limited, right), DAY);
    expect(await factorState(limited, user.username)).toEqual(before);
  });
});

describe("RATE_LIMIT_FORGET_PASSWORD", () => {
  it("answers the request after the limit with 429, creating no token and sending no mail", async () => {
    const [user, other] = [await limited.createUser(), await limited.createUser()];
    await freshBudgets(limited);
    for (let i = 0; i < 3; i++) expect((await forget(limited, user)).status).toBe(200);
    await expectOverLimit(await forget(limited, other), DAY);
    expect(await resetRowsOf(limited, (await rowOf(limited, other.username)).id)).toEqual([]);
    expect(await resetMailsTo(limited, other.email)).toEqual([]);
  });
});

describe("RATE_LIMIT_RESET_PASSWORD", () => {
  it("answers the request after the limit with 429, leaving the token and password as they were", async () => {
    const user = await limited.createUser();
    const token = await requestResetToken(limited, user);
    const { id } = await rowOf(limited, user.username);
    await freshBudgets(limited);
    for (let i = 0; i < 3; i++) {
      const res = await resetPassword(limited, `bogus-token-${i}`, "a guessed new password");
      expect(res.status).toBe(400);
    }
    await expectOverLimit(await resetPassword(limited, token, "the new password"), DAY);
    expect((await resetRowsOf(limited, id)).map((r) => r.tokenHash)).toEqual([
      await sha256Hex(token),
    ]);
    expect((await login(limited, user.username, user.password)).status).toBe(200);

    // With a budget again, the untouched token still works.
    await freshBudgets(limited);
    expect((await resetPassword(limited, token, "the new password")).status).toBe(200);
  });
});

describe("RATE_LIMIT_REFRESH", () => {
  it("answers the refresh after the limit with 429, leaving the presented token unconsumed", async () => {
    const user = await limited.createUser();
    let pair = await loginPair(limited, user.username, user.password);
    await freshBudgets(limited);
    for (let i = 0; i < 3; i++) pair = await refreshPair(limited, pair.refresh_token);
    await expectOverLimit(await refresh(limited, pair.refresh_token), DAY);
    expect((await refreshRowOf(limited, pair.refresh_token))?.consumedAt).toBeNull();
  });
});

describe("per-IP limits are counted per route", () => {
  it("a client over the register limit can still log in, refresh, and ask for a reset", async () => {
    const user = await limited.createUser();
    await freshBudgets(limited);
    for (let i = 0; i < 3; i++) await limited.send("POST", "/api/user/register", registration());
    await expectOverLimit(await limited.send("POST", "/api/user/register", registration()), DAY);

    const pair = await loginPair(limited, user.username, user.password);
    expect((await refresh(limited, pair.refresh_token)).status).toBe(200);
    expect((await forget(limited, user)).status).toBe(200);
  });

  it("a client over the login limit can still register", async () => {
    const user = await limited.createUser();
    await freshBudgets(limited);
    for (let i = 0; i < 3; i++) await login(limited, user.username, user.password);
    await expectOverLimit(await login(limited, user.username, user.password), DAY);
    expect((await limited.send("POST", "/api/user/register", registration())).status).toBe(201);
  });
});

describe("per-IP limits default to the contract's values and can be turned off", () => {
  it("forget_password allows 5 requests a minute by default, then 429", async () => {
    const user = await defaults.createUser();
    await roomLeftInMinute();
    for (let i = 0; i < 5; i++) expect((await forget(defaults, user)).status, `${i}`).toBe(200);
    await expectOverLimit(await forget(defaults, user), 60);
  });

  it("RATE_LIMIT_LOGIN=off lets more logins through than the default 20 a minute", async () => {
    const user = await defaults.createUser();
    for (let i = 0; i < 25; i++) {
      expect((await login(defaults, user.username, user.password)).status, `${i}`).toBe(200);
    }
  });
});

describe("forget_password sends at most one email per account per RESET_EMAIL_INTERVAL (default 60 s)", () => {
  const tokenFromMail = (text: string | undefined) => text?.match(/token=([\w-]+)/)?.[1];

  /** Makes the account's reset token look `seconds` older, as if that time had passed. */
  const ageResetTokens = (api: ContractApi, userId: number, seconds: number) =>
    api.db
      .update(passwordResetTokens)
      .set({
        createdAt: sql`${passwordResetTokens.createdAt} - ${seconds}::int * interval '1 second'`,
      })
      .where(eq(passwordResetTokens.userId, userId));

  it("answers a second request inside the interval with the same 200, sending and storing nothing", async () => {
    const user = await defaults.createUser();
    const { id } = await rowOf(defaults, user.username);
    expect((await forget(defaults, user)).status).toBe(200);
    const [first] = await resetRowsOf(defaults, id);

    const again = await forget(defaults, user);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(RESET_SENT);
    expect(await resetMailsTo(defaults, user.email)).toHaveLength(1);
    expect(await resetRowsOf(defaults, id)).toEqual([first]);
  });

  it("sends again once the interval has passed, and the new link voids the old", async () => {
    const user = await defaults.createUser();
    const { id } = await rowOf(defaults, user.username);
    expect((await forget(defaults, user)).status).toBe(200);
    await ageResetTokens(defaults, id, 61);

    expect((await forget(defaults, user)).status).toBe(200);
    const mails = await resetMailsTo(defaults, user.email);
    expect(mails).toHaveLength(2);
    const [older, newer] = mails.map((m) => tokenFromMail(m.text));
    expect(newer).toBeDefined();
    expect(newer).not.toBe(older);
    expect((await resetRowsOf(defaults, id)).map((r) => r.tokenHash)).toEqual([
      await sha256Hex(newer as string),
    ]);
  });

  it("counts per account: another account still gets its mail", async () => {
    const [a, b] = [await defaults.createUser(), await defaults.createUser()];
    expect((await forget(defaults, a)).status).toBe(200);
    expect((await forget(defaults, b)).status).toBe(200);
    expect(await resetMailsTo(defaults, a.email)).toHaveLength(1);
    expect(await resetMailsTo(defaults, b.email)).toHaveLength(1);
  });

  it("a request that matches no account does not start the interval", async () => {
    const user = await defaults.createUser();
    await forget(defaults, { username: user.username, email: "someone.else@example.com" });
    expect((await forget(defaults, user)).status).toBe(200);
    expect(await resetMailsTo(defaults, user.email)).toHaveLength(1);
  });
});

/**
 * The default window is a minute of the server's clock; on a runtime with the system clock, a
 * minute boundary during the test would restore the budget. Start early enough in a minute.
 */
async function roomLeftInMinute() {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 5_000) await sleep(left + 250);
}
