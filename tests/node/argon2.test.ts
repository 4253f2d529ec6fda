import { verify as argon2Verify } from "@node-rs/argon2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PasswordHasher } from "../../src/auth/password";
import { nodeArgon2 } from "../../src/node/argon2";
import { login, requestResetToken, resetPassword, rowOf } from "../support/auth-helpers";
import { createTestApi, type NodeTestApi } from "../support/node-api";

const PHC_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$";

/** The real argon2 hasher, remembering which stored hashes login verified against. */
const verifiedHashes: string[] = [];
const recordingArgon2: PasswordHasher = {
  hash: nodeArgon2.hash,
  verify(hash, password) {
    verifiedHashes.push(hash);
    return nodeArgon2.verify(hash, password);
  },
};

let api: NodeTestApi;
beforeAll(async () => {
  api = await createTestApi({
    hasher: recordingArgon2,
    env: { EXPOSE_RESET_TOKEN: "true" },
  });
});
afterAll(() => api.close());

describe("real argon2id, end to end", () => {
  it("stores a PHC string with the contract's parameters, and login verifies it", async () => {
    const user = await api.createUser({ password: "correct horse battery staple" });
    const row = await rowOf(api, user.username);
    expect(row.passwordHash.startsWith(PHC_PREFIX), row.passwordHash).toBe(true);
    expect(row.passwordHash).not.toContain("correct horse");

    expect((await login(api, user.username, "correct horse battery staple")).status).toBe(200);
    const wrong = await login(api, user.username, "correct horse battery stapler");
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({
      msg: "Invalid username or password.",
      code: "UNAUTHORIZED",
    });
  });

  it("salts every hash: one password gives two different hashes", async () => {
    const a = await api.createUser({ password: "the same password" });
    const b = await api.createUser({ password: "the same password" });
    const [rowA, rowB] = [await rowOf(api, a.username), await rowOf(api, b.username)];
    expect(rowA.passwordHash).not.toBe(rowB.passwordHash);
  });

  it("a reset stores the new password as argon2id too", async () => {
    const user = await api.createUser();
    const before = (await rowOf(api, user.username)).passwordHash;
    const token = await requestResetToken(api, user);
    expect((await resetPassword(api, token, "reset through argon2")).status).toBe(200);
    const after = (await rowOf(api, user.username)).passwordHash;
    expect(after.startsWith(PHC_PREFIX)).toBe(true);
    expect(after).not.toBe(before);
    expect((await login(api, user.username, "reset through argon2")).status).toBe(200);
  });
});

describe("passwords are compared in NFKC form", () => {
  it.each([
    ["a ligature", "ﬁnancial-secret", "financial-secret"],
    ["fullwidth letters and digits", "ｍｙ ｖａｕｌｔ ２０２６", "my vault 2026"],
    ["a decomposed accent", "cafe\u0301-password", "caf\u00e9-password"],
  ])(
    "a password registered with %s logs in with its NFKC equivalent and vice versa",
    async (_label, typed, nfkc) => {
      expect(typed).not.toBe(nfkc);
      expect(typed.normalize("NFKC")).toBe(nfkc);
      const user = await api.createUser({ password: typed });
      expect((await login(api, user.username, nfkc)).status).toBe(200);
      expect((await login(api, user.username, typed)).status).toBe(200);

      const other = await api.createUser({ password: nfkc });
      expect((await login(api, other.username, typed)).status).toBe(200);
    },
  );

  it("does not fold letter case or strip spaces", async () => {
    const user = await api.createUser({ password: " Spaced Secret " });
    expect((await login(api, user.username, "Spaced Secret")).status).toBe(401);
    expect((await login(api, user.username, " spaced secret ")).status).toBe(401);
    expect((await login(api, user.username, " Spaced Secret ")).status).toBe(200);
  });
});

describe("login of an unknown account does the work of a real one", () => {
  it("verifies against a real argon2id hash with the same parameters, and answers 401", async () => {
    verifiedHashes.length = 0;
    const res = await login(api, "no_such_account", "some password");
    expect(res.status).toBe(401);
    expect(verifiedHashes).toHaveLength(1);
    const dummy = verifiedHashes[0] as string;
    expect(dummy.startsWith(PHC_PREFIX), dummy).toBe(true);
    // A malformed dummy would throw straight away instead of costing a real verification.
    await expect(argon2Verify(dummy, "some password")).resolves.toBe(false);
  });
});
