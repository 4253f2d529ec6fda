import { dictionary } from "@zxcvbn-ts/language-common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  login,
  requestResetToken,
  resetPassword,
  resetRowsOf,
  rowOf,
} from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";

let api: ContractApi;
beforeAll(async () => {
  api = await startApi({ env: { EXPOSE_RESET_TOKEN: "true" } });
});
afterAll(() => api.close());

const COMMON = ["password", "12345678", "qwertyuiop", "iloveyou"];
// The shipped list must hold at least the 10,000 most common: a few from just inside that rank.
const RANKED = dictionary["passwords-common"] as string[];
const NEAR_10K = RANKED.slice(9_000, 10_000)
  .filter((p) => [...p].length >= 8)
  .slice(0, 3);

const refusal = (field: string, reason: RegExp) => ({
  msg: expect.stringMatching(reason),
  code: "VALIDATION_ERROR",
  details: [{ path: field, message: expect.any(String) }],
});
const TOO_COMMON = /common/i;
const IS_USERNAME = /username/i;
const IS_EMAIL = /email/i;

let counter = 0;
function registration(overrides: Record<string, string> = {}) {
  counter++;
  const username = `policy${counter}_${Math.random().toString(36).slice(2, 8)}`;
  return {
    username,
    first_name: "Pass",
    last_name: "Word",
    email: `${username}@example.com`,
    password: "a sound passphrase",
    ...overrides,
  };
}

async function expectRegisterRefused(body: Record<string, string>, reason: RegExp) {
  const res = await api.send("POST", "/api/user/register", body);
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual(refusal("password", reason));
  expect(await api.userRow(body.username as string)).toBeUndefined();
}

describe("register refuses passwords the policy forbids", () => {
  it("checks the chosen examples against the shipped list", () => {
    for (const password of COMMON) expect(RANKED.indexOf(password), password).toBeGreaterThan(-1);
    expect(NEAR_10K).toHaveLength(3);
  });

  it.each(COMMON)("refuses the common password %j with 400 saying why", async (password) => {
    await expectRegisterRefused(registration({ password }), TOO_COMMON);
  });

  it.each(NEAR_10K)("refuses %j, from around rank 9,000 of the list", async (password) => {
    await expectRegisterRefused(registration({ password }), TOO_COMMON);
  });

  it.each([
    ["in capitals", "PASSWORD"],
    ["in mixed case", "ILoveYou"],
    ["in full-width letters (NFKC)", "ｐａｓｓｗｏｒｄ"],
  ])("refuses a common password %s", async (_label, password) => {
    await expectRegisterRefused(registration({ password }), TOO_COMMON);
  });

  it("refuses the username as the password, in any letter case", async () => {
    const username = `Policy.Name${++counter}`;
    for (const password of [username, username.toLowerCase(), username.toUpperCase()]) {
      await expectRegisterRefused(
        registration({ username, email: `p${counter}@example.com`, password }),
        IS_USERNAME,
      );
    }
  });

  it("refuses the email's local part as the password, in any letter case", async () => {
    const local = `Mail.Local${++counter}`;
    for (const password of [local, local.toLowerCase()]) {
      await expectRegisterRefused(
        registration({ email: `${local}@example.com`, password }),
        IS_EMAIL,
      );
    }
  });

  it("accepts a password that is neither common nor a name of the account", async () => {
    const body = registration({ password: "correct horse battery staple" });
    const res = await api.send("POST", "/api/user/register", body);
    expect(res.status).toBe(201);
    expect((await login(api, body.username, body.password)).status).toBe(200);
  });

  it("accepts a password that only contains the username", async () => {
    const body = registration();
    const res = await api.send("POST", "/api/user/register", {
      ...body,
      password: `${body.username}-and-more`,
    });
    expect(res.status).toBe(201);
  });
});

describe("reset_password refuses new passwords the policy forbids", () => {
  /** An account whose email's local part differs from its username, with a live reset token. */
  async function accountWithToken() {
    const base = registration();
    const body = { ...base, email: `Mail.Box.${base.username}@example.com` };
    expect((await api.send("POST", "/api/user/register", body)).status).toBe(201);
    const token = await requestResetToken(api, body);
    return { ...body, token };
  }

  type Account = { username: string; email: string };
  async function expectResetRefused(choose: (u: Account) => string, reason: RegExp) {
    const user = await accountWithToken();
    const before = await rowOf(api, user.username);
    const res = await resetPassword(api, user.token, choose(user));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(refusal("new_password", reason));
    // Nothing changed: the token is still live and the old password still works.
    expect(await rowOf(api, user.username)).toEqual(before);
    expect(await resetRowsOf(api, before.id)).toHaveLength(1);
    expect((await login(api, user.username, user.password)).status).toBe(200);
    expect((await resetPassword(api, user.token, "an acceptable replacement")).status).toBe(200);
  }

  it.each(COMMON)("refuses the common password %j", async (password) => {
    await expectResetRefused(() => password, TOO_COMMON);
  });

  it("refuses the username", async () => {
    await expectResetRefused((u) => u.username.toUpperCase(), IS_USERNAME);
  });

  it("refuses the email's local part", async () => {
    await expectResetRefused((u) => u.email.split("@")[0]?.toLowerCase() ?? "", IS_EMAIL);
  });
});

describe("PUT /api/user/{username} refuses passwords the policy forbids", () => {
  async function expectPutRefused(body: Record<string, string>, reason: RegExp) {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser({ name: `put_${++counter}_target` });
    const before = await rowOf(api, user.username);
    const payload = Object.fromEntries(
      Object.entries(body).map(([k, v]) => [k, v.replace("{username}", user.username)]),
    );
    const res = await api.send("PUT", `/api/user/${user.username}`, payload, admin.token);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(refusal("password", reason));
    expect(await rowOf(api, user.username)).toEqual(before);
    expect((await login(api, user.username, user.password)).status).toBe(200);
  }

  it.each(COMMON)("refuses the common password %j", async (password) => {
    await expectPutRefused({ password }, TOO_COMMON);
  });

  it("refuses the account's username", async () => {
    await expectPutRefused({ password: "{username}" }, IS_USERNAME);
  });

  it("refuses the username given in the same request", async () => {
    await expectPutRefused({ username: "renamed_person", password: "Renamed_Person" }, IS_USERNAME);
  });

  it("refuses the local part of the email given in the same request", async () => {
    await expectPutRefused(
      { email: "fresh.address@example.com", password: "fresh.address" },
      IS_EMAIL,
    );
  });

  it("accepts an acceptable password", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const res = await api.send(
      "PUT",
      `/api/user/${user.username}`,
      { password: "an admin-chosen passphrase" },
      admin.token,
    );
    expect(res.status).toBe(200);
    expect((await login(api, user.username, "an admin-chosen passphrase")).status).toBe(200);
  });
});
