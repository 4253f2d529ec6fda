import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  INVALID_RESET_TOKEN,
  login,
  requestResetToken,
  resetMailsTo,
  resetPassword,
  rowOf,
} from "../support/auth-helpers";
import { createTestApi, type NodeTestApi } from "../support/node-api";

let api: NodeTestApi;
let shortTtl: NodeTestApi;
beforeAll(async () => {
  [api, shortTtl] = await Promise.all([
    createTestApi({ env: { EXPOSE_RESET_TOKEN: "true" } }),
    createTestApi({ env: { EXPOSE_RESET_TOKEN: "true", RESET_TOKEN_TTL: "60" } }),
  ]);
});
afterAll(() => Promise.all([api.close(), shortTtl.close()]));

const MINUTES_30 = 30 * 60;

describe("reset tokens expire after RESET_TOKEN_TTL by the injected clock", () => {
  it("still works one second before 30 minutes", async () => {
    const user = await api.createUser();
    const token = await requestResetToken(api, user);
    api.clock.advance(MINUTES_30 - 1);
    expect((await resetPassword(api, token, "just in time password")).status).toBe(200);
    expect((await login(api, user.username, "just in time password")).status).toBe(200);
  });

  it("is refused at exactly 30 minutes, changing nothing", async () => {
    const user = await api.createUser();
    const token = await requestResetToken(api, user);
    const before = await rowOf(api, user.username);
    api.clock.advance(MINUTES_30);
    const res = await resetPassword(api, token, "a too-late password");
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(INVALID_RESET_TOKEN);
    expect(await rowOf(api, user.username)).toEqual(before);
    expect((await login(api, user.username, user.password)).status).toBe(200);
  });

  it("an expired token does not spend any hashing work", async () => {
    const user = await api.createUser();
    const token = await requestResetToken(api, user);
    api.clock.advance(MINUTES_30 + 1);
    const hashes = api.fastHasher.hashes;
    expect((await resetPassword(api, token, "a too-late password")).status).toBe(400);
    expect(api.fastHasher.hashes).toBe(hashes);
  });

  it("a new request after expiry gives a working token", async () => {
    const user = await api.createUser();
    const stale = await requestResetToken(api, user);
    api.clock.advance(MINUTES_30 * 2);
    const fresh = await requestResetToken(api, user);
    expect((await resetPassword(api, stale, "the stale token's password")).status).toBe(400);
    expect((await resetPassword(api, fresh, "the fresh token's password")).status).toBe(200);
  });

  it("honours a RESET_TOKEN_TTL of 60 seconds", async () => {
    const [a, b] = [await shortTtl.createUser(), await shortTtl.createUser()];
    const tokenA = await requestResetToken(shortTtl, a);
    const tokenB = await requestResetToken(shortTtl, b);
    shortTtl.clock.advance(59);
    expect((await resetPassword(shortTtl, tokenA, "inside the minute")).status).toBe(200);
    shortTtl.clock.advance(1);
    expect((await resetPassword(shortTtl, tokenB, "outside the minute")).status).toBe(400);
  });

  it("says in the mail how long the link lasts", async () => {
    const user = await shortTtl.createUser();
    await requestResetToken(shortTtl, user);
    const [mail] = await resetMailsTo(shortTtl, user.email);
    expect(mail?.text).toContain("expires in 1 minute.");
    expect(mail?.html).toContain("expires in 1 minute.");
  });
});
