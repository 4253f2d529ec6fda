import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectRows } from "../../src/db/database";
import { totpCode } from "../../src/mfa/totp";
import { type ContractApi, startApi } from "../support/contract-api";
import {
  awayFromStepEdge,
  base32Bytes,
  codeAt,
  enrolledUser,
  factorState,
  hotp,
  INVALID_MFA_CODE,
  passwordStep,
  startEnrollment,
  wrongCode,
} from "../support/mfa-helpers";

// Enrolling a second factor (POST /api/me/mfa/totp, its confirmation), and the secret at rest.

let api: ContractApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

const confirm = (code: string, token: string) =>
  api.send("POST", "/api/me/mfa/totp/confirm", { code }, token);
const INVALID_PASSWORD = { msg: "Invalid password.", code: "UNAUTHORIZED" };

describe("RFC 6238 Appendix B", () => {
  // The SHA-1 rows: the 20-byte ASCII secret, 8 digits, T0 = 0, X = 30 s.
  const secret = new TextEncoder().encode("12345678901234567890");
  it.each([
    [59, "94287082"],
    [1111111109, "07081804"],
    [1111111111, "14050471"],
    [1234567890, "89005924"],
    [2000000000, "69279037"],
    [20000000000, "65353130"],
  ])("at %i s the app's code is %s, as the test's own HMAC computes it", (time, expected) => {
    const step = Math.floor(time / 30);
    expect(totpCode(secret, step, 8)).toBe(expected);
    expect(hotp(secret, step, 8)).toBe(expected);
  });
});

describe("POST /api/me/mfa/totp", () => {
  it("answers a base32 secret and its otpauth URI; the factor waits for confirmation", async () => {
    const user = await api.signedIn();
    const { secret, otpauth_url } = await startEnrollment(api, user.token, user.password);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(otpauth_url);
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.host).toBe("totp");
    expect(decodeURIComponent(uri.pathname)).toBe(`/User API:${user.username}`);
    expect(Object.fromEntries(uri.searchParams)).toEqual({
      secret,
      issuer: "User API",
      algorithm: "SHA1",
      digits: "6",
      period: "30",
    });
    const me = await api.send("GET", "/api/me", undefined, user.token);
    expect(await me.json()).toMatchObject({ mfa_enabled: false });
    // A password login still gives tokens until the factor is confirmed.
    const login = await api.send("POST", "/api/user/login", {
      username: user.username,
      password: user.password,
    });
    expect(await login.json()).toHaveProperty("access_token");
  });

  it("stores the secret encrypted: neither its base32 nor its bytes are in the row", async () => {
    const user = await api.signedIn();
    const { secret } = await startEnrollment(api, user.token, user.password);
    const { factor } = await factorState(api, user.username);
    expect(factor?.keyId).toMatch(/^[0-9a-f]{8}$/);
    const stored = JSON.stringify(factor);
    const bytes = base32Bytes(secret);
    for (const form of [
      secret,
      bytes.toString("hex"),
      bytes.toString("base64"),
      bytes.toString("base64url"),
    ]) {
      expect(stored).not.toContain(form.replace(/=+$/, ""));
    }
    const raw = Buffer.from(factor?.secretCiphertext ?? "", "base64url");
    expect(raw.includes(bytes)).toBe(false);
    // 12-byte IV, the 20-byte secret, 16-byte tag.
    expect(raw).toHaveLength(48);
  });

  it("a restart replaces the pending secret: the first one's codes no longer confirm", async () => {
    const user = await api.signedIn();
    await awayFromStepEdge(api);
    const first = await startEnrollment(api, user.token, user.password);
    const second = await startEnrollment(api, user.token, user.password);
    expect(second.secret).not.toBe(first.secret);
    const before = await factorState(api, user.username);
    const res = await confirm(codeAt(api, first.secret), user.token);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(INVALID_MFA_CODE);
    expect(await factorState(api, user.username)).toEqual(before);
    expect((await confirm(codeAt(api, second.secret), user.token)).status).toBe(200);
  });

  it("a wrong password is 401 and stores nothing", async () => {
    const user = await api.signedIn();
    const res = await api.send(
      "POST",
      "/api/me/mfa/totp",
      { password: "not my password" },
      user.token,
    );
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
    expect(await res.json()).toEqual(INVALID_PASSWORD);
    const state = await factorState(api, user.username);
    expect(state.factor).toBeUndefined();
    expect(state.user.mfaEnabled).toBe(false);
  });

  it("is 409 while a factor is on, and the factor stays as it was", async () => {
    const user = await enrolledUser(api);
    const before = await factorState(api, user.username);
    const res = await api.send("POST", "/api/me/mfa/totp", { password: user.password }, user.token);
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ msg: "A second factor is already on.", code: "CONFLICT" });
    expect(await factorState(api, user.username)).toEqual(before);
  });

  it("needs an access token", async () => {
    const res = await api.send("POST", "/api/me/mfa/totp", { password: "whatever pass" });
    expect(res.status).toBe(401);
  });
});

describe("POST /api/me/mfa/totp/confirm", () => {
  it("turns the factor on and answers 10 distinct backup codes, stored only as hashes", async () => {
    const user = await api.signedIn();
    await awayFromStepEdge(api);
    const { secret } = await startEnrollment(api, user.token, user.password);
    const res = await confirm(codeAt(api, secret), user.token);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const { backup_codes } = (await res.json()) as { backup_codes: string[] };
    expect(backup_codes).toHaveLength(10);
    expect(new Set(backup_codes).size).toBe(10);
    for (const code of backup_codes) expect(code).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
    const state = await factorState(api, user.username);
    expect(state.user.mfaEnabled).toBe(true);
    expect(state.codes).toHaveLength(10);
    for (const code of backup_codes) expect(JSON.stringify(state.codes)).not.toContain(code);
    const me = await api.send("GET", "/api/me", undefined, user.token);
    expect(await me.json()).toMatchObject({ mfa_enabled: true });
    const read = await api.send("GET", `/api/user/${user.username}`, undefined, user.token);
    expect(await read.json()).toMatchObject({ mfa_enabled: true });
    // The next login asks for the factor.
    await passwordStep(api, user.username, user.password);
  });

  it.each([-1, 0, 1])("accepts the code of the step %i from now", async (offset) => {
    const user = await api.signedIn();
    await awayFromStepEdge(api);
    const { secret } = await startEnrollment(api, user.token, user.password);
    expect((await confirm(codeAt(api, secret, offset), user.token)).status).toBe(200);
  });

  it.each([-2, 2])("refuses the code of the step %i from now, changing nothing", async (offset) => {
    const user = await api.signedIn();
    await awayFromStepEdge(api);
    const { secret } = await startEnrollment(api, user.token, user.password);
    const before = await factorState(api, user.username);
    const res = await confirm(codeAt(api, secret, offset), user.token);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(INVALID_MFA_CODE);
    expect(await factorState(api, user.username)).toEqual(before);
  });

  it("a wrong code is 400 INVALID_MFA_CODE and the factor stays pending", async () => {
    const user = await api.signedIn();
    const { secret } = await startEnrollment(api, user.token, user.password);
    const before = await factorState(api, user.username);
    const res = await confirm(wrongCode(api, secret), user.token);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(INVALID_MFA_CODE);
    expect(await factorState(api, user.username)).toEqual(before);
  });

  it("without a pending enrollment is 409, and so is a second confirmation", async () => {
    const fresh = await api.signedIn();
    const res = await confirm("123456", fresh.token);
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({
      msg: "No second factor is waiting for confirmation.",
      code: "CONFLICT",
    });
    const user = await enrolledUser(api);
    const before = await factorState(api, user.username);
    const again = await confirm(codeAt(api, user.secret, 1), user.token);
    expect(again.status).toBe(409);
    expect(await factorState(api, user.username)).toEqual(before);
  });

  it("the secret is in no later response, nor in the audit log", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await enrolledUser(api);
    const { secret } = user;
    const bytes = base32Bytes(secret);
    const forms = [secret, bytes.toString("hex"), bytes.toString("base64url")];
    const texts = [
      await (await api.send("GET", "/api/me", undefined, user.token)).text(),
      await (await api.send("GET", `/api/user/${user.username}`, undefined, admin.token)).text(),
      await (await api.send("GET", `/api/users?q=${user.username}`, undefined, admin.token)).text(),
      await (
        await api.send("POST", "/api/user/login", {
          username: user.username,
          password: user.password,
        })
      ).text(),
      await (
        await api.send("GET", `/api/audit?user=${user.username}`, undefined, admin.token)
      ).text(),
    ];
    const audit = await selectRows<{ row: string }>(
      api.db,
      sql`select audit_log::text as row from audit_log where target_username = ${user.username}`,
    );
    expect(audit.length).toBeGreaterThan(0);
    for (const text of [...texts, ...audit.map((a) => a.row)]) {
      for (const form of forms) expect(text).not.toContain(form);
      for (const code of user.backupCodes) expect(text).not.toContain(code);
    }
    const actions = audit.map((a) => a.row).join("\n");
    expect(actions).toContain("mfa.enabled");
  });
});
