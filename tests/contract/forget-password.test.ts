import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  INVALID_RESET_TOKEN,
  login,
  RESET_SENT,
  requestResetToken,
  resetMailsTo,
  resetPassword,
  resetRowsOf,
  rowOf,
  setActive,
  sha256Hex,
} from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";

const APP_URL = "https://app.example.test/reset-password?token=";

let api: ContractApi;
let exposed: ContractApi;
beforeAll(async () => {
  [api, exposed] = await Promise.all([
    startApi({ env: { APP_URL } }),
    startApi({ env: { APP_URL, EXPOSE_RESET_TOKEN: "true" } }),
  ]);
});
afterAll(() => Promise.all([api.close(), exposed.close()]));

const forget = (on: ContractApi, username: string, email: string) =>
  on.send("POST", "/api/user/forget_password", { username, email });

const TOKEN_IN_LINK = new RegExp(`${APP_URL.replace(/[.?]/g, "\\$&")}([A-Za-z0-9_-]+)`);

/** The token carried by the only reset mail sent to `address`. */
async function mailedToken(on: ContractApi, address: string) {
  const mails = await resetMailsTo(on, address);
  expect(mails).toHaveLength(1);
  const token = mails[0]?.text.match(TOKEN_IN_LINK)?.[1];
  expect(token, "the mail links APP_URL + token").toBeDefined();
  return token as string;
}

/** Every way of asking for a reset that must not match an account. */
const nonMatching: [string, (on: ContractApi) => Promise<{ username: string; email: string }>][] = [
  ["an unknown username", async () => ({ username: "ghost_user", email: "ghost@example.com" })],
  [
    "an unknown username with a real account's email",
    async (on) => ({ username: "ghost_user", email: (await on.createUser()).email }),
  ],
  [
    "a real username with another account's email",
    async (on) => {
      const [a, b] = [await on.createUser(), await on.createUser()];
      return { username: a.username, email: b.email };
    },
  ],
  [
    "a real username with an unknown email",
    async (on) => ({ username: (await on.createUser()).username, email: "nobody@example.com" }),
  ],
  [
    "a deactivated account",
    async (on) => {
      const user = await on.createUser();
      await setActive(on, (await rowOf(on, user.username)).id, false);
      return user;
    },
  ],
];

describe("POST /api/user/forget_password", () => {
  it("answers 200 for a matching account and mails it a link of APP_URL + a fresh token", async () => {
    const user = await api.createUser();
    const res = await forget(api, user.username, user.email);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(RESET_SENT);

    const mails = await resetMailsTo(api, user.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]?.subject).toEqual(expect.any(String));
    const token = await mailedToken(api, user.email);
    // At least 256 bits in base64url.
    expect(token).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(mails[0]?.html).toContain(`${APP_URL}${token}`);
  });

  it("matches username and email in any letter case and mails the stored address", async () => {
    const user = await api.createUser({ name: "Forgetful.One" });
    const res = await forget(api, "FORGETFUL.one", user.email.toUpperCase());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(RESET_SENT);
    await mailedToken(api, user.email);
  });

  it("gives a token that expires after the default 30 minutes", async () => {
    const user = await api.createUser();
    await forget(api, user.username, user.email);
    const [row] = await resetRowsOf(api, (await rowOf(api, user.username)).id);
    expect(row).toBeDefined();
    expect((row?.expiresAt.getTime() ?? 0) - (row?.createdAt.getTime() ?? 0)).toBe(30 * 60_000);
  });

  it("mails a token that resets the password", async () => {
    const user = await api.createUser();
    await forget(api, user.username, user.email);
    const token = await mailedToken(api, user.email);
    expect((await resetPassword(api, token, "a brand new password")).status).toBe(200);
    expect((await login(api, user.username, "a brand new password")).status).toBe(200);
  });

  it.each(nonMatching)(
    "answers %s with the same 200 body, and sends and stores nothing",
    async (_label, make) => {
      const input = await make(api);
      const row = await api.userRow(input.username);
      const res = await forget(api, input.username, input.email);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(RESET_SENT);
      expect(await resetMailsTo(api, input.email)).toEqual([]);
      if (row) {
        expect(await resetMailsTo(api, row.email)).toEqual([]);
        expect(await resetRowsOf(api, row.id)).toEqual([]);
        expect(await api.userRow(input.username)).toEqual(row);
      }
    },
  );
});

describe("forget_password with an email alone", () => {
  const forgetByEmail = (on: ContractApi, email: string) =>
    on.send("POST", "/api/user/forget_password", { email });

  it("mails the account of that email (any letter case) a link that resets the password", async () => {
    const user = await api.createUser();
    const res = await forgetByEmail(api, user.email.toUpperCase());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(RESET_SENT);
    const token = await mailedToken(api, user.email);
    expect((await resetPassword(api, token, "reset by email alone")).status).toBe(200);
    expect((await login(api, user.username, "reset by email alone")).status).toBe(200);
  });

  it("an unknown email, or a deactivated account's: the same 200, nothing sent or stored", async () => {
    const inactive = await api.createUser();
    const row = await rowOf(api, inactive.username);
    await setActive(api, row.id, false);
    for (const email of ["nobody.at.all@example.com", inactive.email]) {
      const res = await forgetByEmail(api, email);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(RESET_SENT);
      expect(await resetMailsTo(api, email)).toEqual([]);
    }
    expect(await resetRowsOf(api, row.id)).toEqual([]);
  });

  it("a username alone is 400, sending and storing nothing", async () => {
    const user = await exposed.createUser();
    const res = await exposed.send("POST", "/api/user/forget_password", {
      username: user.username,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "VALIDATION_ERROR" });
    expect(await resetRowsOf(exposed, (await rowOf(exposed, user.username)).id)).toEqual([]);
  });
});

describe("forget_password with EXPOSE_RESET_TOKEN=true", () => {
  it("also returns the token, the one mailed, for a matching account", async () => {
    const user = await exposed.createUser();
    const res = await forget(exposed, user.username, user.email);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { msg: string; token: string };
    expect(body).toEqual({ ...RESET_SENT, token: expect.stringMatching(/^[A-Za-z0-9_-]{43,}$/) });
    expect(await mailedToken(exposed, user.email)).toBe(body.token);
  });

  it.each(nonMatching)("returns no token for %s", async (_label, make) => {
    const input = await make(exposed);
    const res = await forget(exposed, input.username, input.email);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(RESET_SENT);
  });

  it("is off by default: the body carries no token", async () => {
    const user = await api.createUser();
    const res = await forget(api, user.username, user.email);
    expect(await res.json()).toEqual(RESET_SENT);
  });
});

describe("reset tokens at rest", () => {
  it("are stored only as their SHA-256, never as the token itself", async () => {
    const user = await exposed.createUser();
    const token = await requestResetToken(exposed, user);
    const rows = await resetRowsOf(exposed, (await rowOf(exposed, user.username)).id);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.tokenHash).toBe(await sha256Hex(token));
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(JSON.stringify(await rowOf(exposed, user.username))).not.toContain(token);
  });

  it("a newer token voids the older one", async () => {
    const user = await exposed.createUser();
    const older = await requestResetToken(exposed, user);
    const newer = await requestResetToken(exposed, user);
    expect(newer).not.toBe(older);
    const rows = await resetRowsOf(exposed, (await rowOf(exposed, user.username)).id);
    expect(rows.map((r) => r.tokenHash)).toEqual([await sha256Hex(newer)]);

    const stale = await resetPassword(exposed, older, "the older token's password");
    expect(stale.status).toBe(400);
    expect(await stale.json()).toEqual(INVALID_RESET_TOKEN);
    expect((await resetPassword(exposed, newer, "the newer token's password")).status).toBe(200);
  });

  it("concurrent requests for one account leave exactly one usable token", async () => {
    // A race shows only sometimes, so several accounts each get a burst of 10.
    for (let round = 0; round < 5; round++) {
      const user = await exposed.createUser();
      const tokens = await Promise.all(
        Array.from({ length: 10 }, () => requestResetToken(exposed, user)),
      );
      const rows = await resetRowsOf(exposed, (await rowOf(exposed, user.username)).id);
      expect(rows, `round ${round}`).toHaveLength(1);
      const hashes = await Promise.all(tokens.map(sha256Hex));
      const live = tokens[hashes.indexOf(rows[0]?.tokenHash ?? "")] as string;
      expect(live).toBeDefined();
      for (const token of tokens.filter((t) => t !== live)) {
        expect((await resetPassword(exposed, token, "a voided token's password")).status).toBe(400);
      }
      expect((await resetPassword(exposed, live, "the live token's password")).status).toBe(200);
    }
  });

  it("requests for one account do not touch another account's token", async () => {
    const [a, b] = [await exposed.createUser(), await exposed.createUser()];
    const tokenA = await requestResetToken(exposed, a);
    await requestResetToken(exposed, b);
    expect((await resetPassword(exposed, tokenA, "a's fresh password")).status).toBe(200);
  });
});

describe("forget_password request validation", () => {
  it.each([
    ["an unknown field", (u: { username: string; email: string }) => ({ ...u, token: "x" })],
    ["a missing email", (u: { username: string }) => ({ username: u.username })],
    ["a non-string username", (u: { email: string }) => ({ username: 42, email: u.email })],
  ])("refuses %s with 400, sending and storing nothing", async (_label, build) => {
    const user = await exposed.createUser();
    const res = await exposed.send("POST", "/api/user/forget_password", build(user));
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ msg: expect.any(String), code: "VALIDATION_ERROR" });
    expect(body).not.toHaveProperty("token");
    expect(await resetMailsTo(exposed, user.email)).toEqual([]);
    expect(await resetRowsOf(exposed, (await rowOf(exposed, user.username)).id)).toEqual([]);
  });
});
