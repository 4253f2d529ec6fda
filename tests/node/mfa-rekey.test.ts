import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config";
import { mfaFactors } from "../../src/db/schema";
import { rekeyMfaSecrets } from "../../src/mfa/rekey";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { codeAt, enrolledUser, factorState, passwordStep } from "../support/mfa-helpers";
import { createTestApi } from "../support/node-api";
import { testEnv } from "../support/test-env";

// Rotating MFA_ENCRYPTION_KEY: old keys decrypt, `npm run mfa:rekey` (rekeyMfaSecrets) moves the
// secrets to the new key, and a secret whose key is gone is a 500, never a login.

const OLD = randomBytes(32).toString("base64");
const NEW = randomBytes(32).toString("base64url");
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

/** An API on the shared database with these keys (closing it leaves the database). */
const apiWith = (env: Record<string, string>) =>
  createTestApi({ database: { ...database, drop: async () => {} }, env });

describe("key rotation", () => {
  it("old keys decrypt; the rekey moves every secret to the new key; then the old key can go", async () => {
    const before = await apiWith({ MFA_ENCRYPTION_KEY: OLD });
    const user = await enrolledUser(before);
    const oldId = (await factorState(before, user.username)).factor?.keyId;

    const rotated = await apiWith({ MFA_ENCRYPTION_KEY: NEW, MFA_OLD_ENCRYPTION_KEYS: OLD });
    const token = await passwordStep(rotated, user.username, user.password);
    const res = await rotated.send("POST", "/api/user/login/mfa", {
      mfa_token: token,
      code: codeAt(rotated, user.secret),
    });
    expect(res.status, await res.clone().text()).toBe(200);

    const config = loadConfig(
      testEnv({ MFA_ENCRYPTION_KEY: NEW, MFA_OLD_ENCRYPTION_KEYS: OLD }),
    ).config;
    const newId = config.mfaKeys[0].id;
    expect(await rekeyMfaSecrets(database.db, config)).toEqual({ resealed: 1, remaining: [] });
    const [row] = await database.db.select().from(mfaFactors);
    expect(row?.keyId).toBe(newId);
    expect(newId).not.toBe(oldId);

    const after = await apiWith({ MFA_ENCRYPTION_KEY: NEW });
    rotated.clock.advance(30);
    after.clock.advance(30);
    const next = await passwordStep(after, user.username, user.password);
    const again = await after.send("POST", "/api/user/login/mfa", {
      mfa_token: next,
      code: codeAt(after, user.secret),
    });
    expect(again.status, await again.clone().text()).toBe(200);
  });

  it("a secret whose key is not configured is a 500 at login, logged with its key id", async () => {
    const before = await apiWith({ MFA_ENCRYPTION_KEY: OLD });
    const user = await enrolledUser(before);
    const { factor } = await factorState(before, user.username);
    const after = await apiWith({ MFA_ENCRYPTION_KEY: NEW });
    const token = await passwordStep(after, user.username, user.password);
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const res = await after.unchecked("/api/user/login/mfa", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ mfa_token: token, code: codeAt(after, user.secret) }),
      });
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ msg: "Internal server error.", code: "INTERNAL" });
      expect(logged.mock.calls.flat().join("\n")).toContain(factor?.keyId ?? "?");
      expect(logged.mock.calls.flat().join("\n")).not.toContain(user.secret);
    } finally {
      logged.mockRestore();
    }
    const [row] = await database.db
      .select()
      .from(mfaFactors)
      .where(eq(mfaFactors.secretCiphertext, factor?.secretCiphertext ?? ""));
    expect(row).toEqual(factor);
  });
});
