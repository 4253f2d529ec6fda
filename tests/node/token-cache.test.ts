import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimsOf, expectUnauthorized } from "../support/auth-helpers";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { createTestApi, type NodeTestApi } from "../support/node-api";

// What the verifier remembers of a token (src/auth/jwt.ts) is bound to the key that verified it,
// and time is checked on every use, to the second, against the injected clock.

let database: TestDatabase;
let api: NodeTestApi;
let otherKey: NodeTestApi;
beforeAll(async () => {
  database = await createTestDatabase();
  // Two apps in one process, on one database: the same accounts, another signing key.
  [api, otherKey] = await Promise.all([
    createTestApi({ database }),
    createTestApi({ database, env: { JWT_SECRET_KEY: randomBytes(32).toString("base64url") } }),
  ]);
});
afterAll(() => database.drop());

const getMe = (on: NodeTestApi, token: string) => on.send("GET", "/api/me", undefined, token);

describe("a token verified under one JWT secret", () => {
  it("is refused by an app with another secret, before and after the first app used it", async () => {
    const user = await api.signedIn();
    const fresh = await api.tokenFor(user.username, user.password);
    await expectUnauthorized(await getMe(otherKey, fresh));

    expect((await getMe(api, user.token)).status).toBe(200);
    await expectUnauthorized(await getMe(otherKey, user.token));
    await expectUnauthorized(await getMe(otherKey, user.token));
    // And the other way round: a token of the other app's key, once it verified there.
    const theirs = await otherKey.tokenFor(user.username, user.password);
    expect((await getMe(otherKey, theirs)).status).toBe(200);
    await expectUnauthorized(await getMe(api, theirs));
    expect((await getMe(api, user.token)).status).toBe(200);
  });
});

describe("a token at the end of its life", () => {
  it("is accepted one second before its exp and refused at its exp second", async () => {
    const user = await api.signedIn();
    const { iat, exp } = claimsOf(user.token);
    expect(exp - iat).toBe(api.deps.config.accessTokenTtl);
    // The test clock starts on a whole second and moves by whole seconds.
    expect(api.clock.now().getTime()).toBe(iat * 1000);
    api.clock.advance(exp - iat - 1);
    expect((await getMe(api, user.token)).status).toBe(200);
    api.clock.advance(1);
    await expectUnauthorized(await getMe(api, user.token));
  });

  it("is refused at its exp second when it was never used before", async () => {
    const user = await api.signedIn();
    const { iat, exp } = claimsOf(user.token);
    api.clock.advance(exp - iat);
    await expectUnauthorized(await getMe(api, user.token));
  });
});
