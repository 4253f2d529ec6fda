import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessions } from "../../src/db/schema";
import { login, rowOf } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";

// POST /api/me/password refuses a new password that is the current one. Passwords are compared
// in NFKC form (the form they are hashed in), so one that differs only before normalisation (a
// ligature, a full-width letter) is the same password and is refused too.

let api: ContractApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

const SAME_PASSWORD = {
  msg: "Invalid request.",
  code: "VALIDATION_ERROR",
  details: [{ path: "new_password", message: "must differ from the current password" }],
};

describe("POST /api/me/password with the current password in another spelling", () => {
  it.each([
    ["a ligature for two letters", "\uFB01nance-pass-01", "finance-pass-01"],
    ["two letters for a ligature", "finance-pass-02", "\uFB01nance-pass-02"],
    ["full-width letters and digits", "ledger-pass-77", "ledger-pass-\uFF17\uFF17"],
  ])("is 400 for %s and changes nothing", async (_what, current, renewed) => {
    const me = await api.createUser({ password: current });
    const token = await api.tokenFor(me.username, current);
    const before = await rowOf(api, me.username);
    const sessionsOf = () =>
      api.db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, before.id));
    const sessionsBefore = await sessionsOf();

    const res = await api.send(
      "POST",
      "/api/me/password",
      { current_password: current, new_password: renewed },
      token,
    );
    expect({ status: res.status, body: await res.json() }).toEqual({
      status: 400,
      body: SAME_PASSWORD,
    });

    expect(await rowOf(api, me.username)).toEqual(before);
    expect(await sessionsOf()).toEqual(sessionsBefore);
    // The token still holds, and the password is what it was, in either spelling.
    expect((await api.send("GET", "/api/me", undefined, token)).status).toBe(200);
    expect((await login(api, me.username, current)).status).toBe(200);
  });
});
