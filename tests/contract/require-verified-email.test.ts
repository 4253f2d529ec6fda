import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { login, requestResetToken, resetPassword, rowOf, setActive } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";
import { entriesOf, linkTokenTo, verifyEmail } from "../support/email-helpers";
import { sessionsOfUser } from "../support/session-helpers";

// REQUIRE_VERIFIED_EMAIL: an unverified account learns so only after proving its password; a
// verification link or a completed password reset proves the address.

let strict: ContractApi;
let lenient: ContractApi;
beforeAll(async () => {
  [strict, lenient] = await Promise.all([
    startApi({ env: { REQUIRE_VERIFIED_EMAIL: "true", EXPOSE_RESET_TOKEN: "true" } }),
    startApi({ env: { EXPOSE_RESET_TOKEN: "true" } }),
  ]);
});
afterAll(() => Promise.all([strict.close(), lenient.close()]));

const NOT_VERIFIED = {
  msg: "Your email address is not verified. Open the link we mailed you, or reset your password.",
  code: "EMAIL_NOT_VERIFIED",
};
const INVALID_CREDENTIALS = { msg: "Invalid username or password.", code: "UNAUTHORIZED" };

describe("REQUIRE_VERIFIED_EMAIL=true", () => {
  it("the right password of an unverified account: 403 EMAIL_NOT_VERIFIED and no tokens", async () => {
    const user = await strict.createUser();
    for (const name of [user.username, user.email]) {
      const res = await login(strict, name, user.password);
      expect(res.status).toBe(403);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual(NOT_VERIFIED);
      expect(text).not.toMatch(/token/);
    }
    const row = await rowOf(strict, user.username);
    expect(await sessionsOfUser(strict, row.id)).toEqual([]);
    const failed = (await entriesOf(strict, row.id)).filter((e) => e.action === "login.failed");
    expect(failed.map((e) => e.detail)).toEqual(["unverified", "unverified"]);
  });

  it("a wrong password stays 401, the same as for an unknown account", async () => {
    const user = await strict.createUser();
    const res = await login(strict, user.username, "not the password");
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(INVALID_CREDENTIALS);
    const ghost = await login(strict, "nobody_at_all", "not the password");
    expect(await ghost.json()).toEqual(INVALID_CREDENTIALS);
  });

  it("after the verification link, the login succeeds", async () => {
    const user = await strict.createUser();
    expect((await verifyEmail(strict, await linkTokenTo(strict, user.email))).status).toBe(200);
    expect((await login(strict, user.username, user.password)).status).toBe(200);
  });

  it("a completed password reset proves the address: verified, and the login succeeds", async () => {
    const user = await strict.createUser();
    const token = await requestResetToken(strict, user);
    expect((await resetPassword(strict, token, "a password after reset")).status).toBe(200);
    expect((await rowOf(strict, user.username)).emailVerified).toBe(true);
    expect((await login(strict, user.username, "a password after reset")).status).toBe(200);
  });

  it("a deactivated unverified account is told it is deactivated", async () => {
    const user = await strict.createUser();
    await setActive(strict, (await rowOf(strict, user.username)).id, false);
    const res = await login(strict, user.username, user.password);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ msg: "Your account is deactivated.", code: "FORBIDDEN" });
  });

  it("the right password clears the name's failures, as for a deactivated account", async () => {
    const user = await strict.createUser();
    for (let i = 0; i < 4; i++) {
      expect((await login(strict, user.username, `wrong ${i}`)).status).toBe(401);
    }
    expect((await login(strict, user.username, user.password)).status).toBe(403);
    // Four more failures would have locked the name had the count not been cleared.
    for (let i = 0; i < 4; i++) {
      expect((await login(strict, user.username, `wrong again ${i}`)).status).toBe(401);
    }
    expect((await login(strict, user.username, user.password)).status).toBe(403);
  });
});

describe("REQUIRE_VERIFIED_EMAIL off (the default)", () => {
  it("an unverified account logs in", async () => {
    const user = await lenient.createUser();
    expect((await rowOf(lenient, user.username)).emailVerified).toBe(false);
    expect((await login(lenient, user.username, user.password)).status).toBe(200);
  });

  it("a completed reset still marks the address verified", async () => {
    const user = await lenient.createUser();
    const token = await requestResetToken(lenient, user);
    expect((await resetPassword(lenient, token, "another fresh password")).status).toBe(200);
    expect((await rowOf(lenient, user.username)).emailVerified).toBe(true);
  });
});
