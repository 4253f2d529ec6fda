import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  login,
  requestResetToken,
  resetPassword,
  resetRowsOf,
  rowOf,
  sha256Hex,
} from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";
import {
  ALREADY_TAKEN,
  EMAIL_VERIFIED,
  emailTokensOf,
  entriesOf,
  INVALID_VERIFICATION_TOKEN,
  linkTokensTo,
  linkTokenTo,
  verifyEmail,
  withoutLink,
} from "../support/email-helpers";
import { expectRateLimited, LOCKED_OUT } from "../support/session-helpers";

// POST /api/me/email: nothing changes until the new address confirms through its link.

let api: ContractApi;
beforeAll(async () => {
  // A server database even in-process: the races below need two connections.
  api = await startApi({ needsServer: true, env: { EXPOSE_RESET_TOKEN: "true" } });
});
afterAll(() => api.close());

const changeEmail = (body: unknown, token?: string) =>
  api.send("POST", "/api/me/email", body, token);
const REQUESTED = { msg: "A confirmation link has been sent to the new address." };
const INVALID_PASSWORD = { msg: "Invalid password.", code: "UNAUTHORIZED" };
const fresh = (label: string) => `${label}_${Math.random().toString(36).slice(2, 8)}@example.net`;

/** A refusal: its status and body, and neither the account, its links nor any mail moved. */
async function expectRefused(
  res: Response,
  status: number,
  body: object,
  user: { username: string; email: string },
  newEmail: string,
) {
  const before = await rowOf(api, user.username);
  const tokensBefore = await emailTokensOf(api, before.id);
  const mailsBefore = await api.mailsTo(user.email);
  expect(res.status, await res.clone().text()).toBe(status);
  expect(await res.json()).toEqual(body);
  expect(await rowOf(api, user.username)).toEqual(before);
  expect(await emailTokensOf(api, before.id)).toEqual(tokensBefore);
  expect(await api.mailsTo(newEmail)).toEqual([]);
  expect(await api.mailsTo(user.email)).toEqual(mailsBefore);
}

describe("POST /api/me/email", () => {
  it("mails a link to the new address and a notice without a link to the old; nothing changes yet", async () => {
    const user = await api.signedIn();
    const before = await rowOf(api, user.username);
    const newEmail = fresh("moved");
    const res = await changeEmail({ email: newEmail, password: user.password }, user.token);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual(REQUESTED);

    const token = await linkTokenTo(api, newEmail);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(await api.mailsTo(newEmail)).toHaveLength(1);
    // The old address: its verification link from registration, and the notice.
    const notices = withoutLink(await api.mailsTo(user.email));
    expect(notices).toHaveLength(1);
    expect(notices[0]?.text).toContain(newEmail);
    expect(await linkTokensTo(api, user.email)).toHaveLength(1);

    expect(await rowOf(api, user.username)).toEqual(before);
    const rows = await emailTokensOf(api, before.id);
    expect(rows.find((row) => row.purpose === "change")).toMatchObject({
      tokenHash: await sha256Hex(token),
      email: newEmail,
    });
    const last = (await entriesOf(api, before.id)).at(-1);
    expect(last).toEqual({ action: "email.change_requested", detail: null, fields: ["email"] });
    expect(JSON.stringify(await entriesOf(api, before.id))).not.toContain(newEmail);
  });

  it("the link sets the new address, verified; the old verification and reset links die", async () => {
    const user = await api.signedIn();
    const oldLink = await linkTokenTo(api, user.email);
    const resetToken = await requestResetToken(api, user);
    const newEmail = fresh("confirmed");
    await changeEmail({ email: newEmail, password: user.password }, user.token);
    const res = await verifyEmail(api, await linkTokenTo(api, newEmail));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(EMAIL_VERIFIED);

    const row = await rowOf(api, user.username);
    expect(row).toMatchObject({ email: newEmail, emailVerified: true });
    expect(await emailTokensOf(api, row.id)).toEqual([]);
    expect(await resetRowsOf(api, row.id)).toEqual([]);
    expect((await verifyEmail(api, oldLink)).status).toBe(400);
    expect((await resetPassword(api, resetToken, "a password for nobody")).status).toBe(400);
    expect((await login(api, newEmail, user.password)).status).toBe(200);
    expect((await login(api, user.email, user.password)).status).toBe(401);
    const changed = (await entriesOf(api, row.id)).filter((e) => e.action === "email.changed");
    expect(changed).toEqual([{ action: "email.changed", detail: null, fields: ["email"] }]);
  });

  it("a newer request voids the older link", async () => {
    const user = await api.signedIn();
    const [first, second] = [fresh("first"), fresh("second")];
    await changeEmail({ email: first, password: user.password }, user.token);
    await changeEmail({ email: second, password: user.password }, user.token);
    const stale = await verifyEmail(api, await linkTokenTo(api, first));
    expect(stale.status).toBe(400);
    expect(await stale.json()).toEqual(INVALID_VERIFICATION_TOKEN);
    expect((await rowOf(api, user.username)).email).toBe(user.email);
    expect((await verifyEmail(api, await linkTokenTo(api, second))).status).toBe(200);
    expect((await rowOf(api, user.username)).email).toBe(second);
  });

  it("a wrong password is 401 and counts as a failed login of the caller's name", async () => {
    const user = await api.signedIn();
    const newEmail = fresh("wrong");
    const res = await changeEmail({ email: newEmail, password: "not the password" }, user.token);
    await expectRefused(res, 401, INVALID_PASSWORD, user, newEmail);
    // Four more wrong guesses (here and at login) make five: locked.
    for (let i = 0; i < 3; i++) {
      const again = await changeEmail({ email: newEmail, password: `guess ${i}` }, user.token);
      expect(again.status).toBe(401);
    }
    expect((await login(api, user.username, "a guess at login")).status).toBe(401);
    // Locked: even the right password waits, here and at login.
    await expectRateLimited(
      await changeEmail({ email: newEmail, password: user.password }, user.token),
      LOCKED_OUT,
    );
    await expectRateLimited(await login(api, user.username, user.password), LOCKED_OUT);
    expect(await api.mailsTo(newEmail)).toEqual([]);
  });

  it("an address another account has (any letter case) is 409, after the password", async () => {
    const [user, other] = [await api.signedIn(), await api.createUser()];
    const taken = other.email.toUpperCase();
    const res = await changeEmail({ email: taken, password: user.password }, user.token);
    await expectRefused(res, 409, ALREADY_TAKEN, user, taken);
    expect(await api.mailsTo(other.email)).toHaveLength(1);
    // A wrong password says nothing about the address.
    const wrong = await changeEmail({ email: taken, password: "not it at all" }, user.token);
    expect(wrong.status).toBe(401);
  });

  it("the caller's own address is 400", async () => {
    const user = await api.signedIn();
    const res = await changeEmail({ email: user.email, password: user.password }, user.token);
    const before = await rowOf(api, user.username);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "VALIDATION_ERROR" });
    expect(await emailTokensOf(api, before.id)).toHaveLength(1);
  });

  it.each([
    ["no token", undefined, 401],
    ["a malformed token", "a.b.c", 401],
  ])("with %s: 401", async (_label, token, status) => {
    const res = await changeEmail({ email: fresh("anon"), password: "whatever it is" }, token);
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("an invalid address or an unknown field is 400", async () => {
    const user = await api.signedIn();
    for (const body of [
      { email: "not an address", password: user.password },
      { email: fresh("x"), password: user.password, email_verified: true },
      { email: fresh("y") },
    ]) {
      const res = await changeEmail(body, user.token);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await res.json()).toMatchObject({ code: "VALIDATION_ERROR" });
    }
    expect(await emailTokensOf(api, (await rowOf(api, user.username)).id)).toHaveLength(1);
  });
});

describe("confirming an address taken meanwhile", () => {
  it("is 409, and the account keeps its address", async () => {
    const user = await api.signedIn();
    const newEmail = fresh("raced");
    await changeEmail({ email: newEmail, password: user.password }, user.token);
    const token = await linkTokenTo(api, newEmail);
    // Someone registers the address before the link is used.
    const username = `taker_${Math.random().toString(36).slice(2, 8)}`;
    const reg = await api.send("POST", "/api/user/register", {
      username,
      first_name: "Quick",
      last_name: "Taker",
      email: newEmail,
      password: "a password of the taker",
    });
    expect(reg.status).toBe(201);
    const before = await rowOf(api, user.username);
    const res = await verifyEmail(api, token);
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual(ALREADY_TAKEN);
    expect(await rowOf(api, user.username)).toEqual(before);
  });

  it("two accounts confirming the same new address at once: exactly one wins, the other 409", async () => {
    for (let round = 0; round < 3; round++) {
      const [a, b] = [await api.signedIn(), await api.signedIn()];
      const newEmail = fresh(`contested${round}`);
      await changeEmail({ email: newEmail, password: a.password }, a.token);
      await changeEmail({ email: newEmail, password: b.password }, b.token);
      const [tokenA, tokenB] = await linkTokensTo(api, newEmail);
      const answers = await Promise.all([verifyEmail(api, tokenA), verifyEmail(api, tokenB)]);
      expect(answers.map((res) => res.status).sort(), `round ${round}`).toEqual([200, 409]);
      const loser = answers.find((res) => res.status === 409);
      expect(await loser?.json()).toEqual(ALREADY_TAKEN);
      const emails = [(await rowOf(api, a.username)).email, (await rowOf(api, b.username)).email];
      expect(emails.filter((email) => email === newEmail)).toHaveLength(1);
    }
  });
});
