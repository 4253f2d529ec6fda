import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowOf } from "../support/auth-helpers";
import { INVALID_VERIFICATION_TOKEN, linkTokenTo, verifyEmail } from "../support/email-helpers";
import { createTestApi, type NodeTestApi } from "../support/node-api";

// Email links expire after EMAIL_VERIFY_TTL by the injected clock (the contract tests move the
// expiry in the database instead, as the Worker's clock cannot be moved).

let api: NodeTestApi;
let shortTtl: NodeTestApi;
beforeAll(async () => {
  [api, shortTtl] = await Promise.all([
    createTestApi(),
    createTestApi({ env: { EMAIL_VERIFY_TTL: "600" } }),
  ]);
});
afterAll(() => Promise.all([api.close(), shortTtl.close()]));

const DAY = 86_400;

describe("verification links expire after EMAIL_VERIFY_TTL (default 24 h)", () => {
  it("still works one second before 24 hours", async () => {
    const user = await api.createUser();
    const token = await linkTokenTo(api, user.email);
    api.clock.advance(DAY - 1);
    expect((await verifyEmail(api, token)).status).toBe(200);
    expect((await rowOf(api, user.username)).emailVerified).toBe(true);
  });

  it("is refused at exactly 24 hours, changing nothing", async () => {
    const user = await api.createUser();
    const token = await linkTokenTo(api, user.email);
    const before = await rowOf(api, user.username);
    api.clock.advance(DAY);
    const res = await verifyEmail(api, token);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(INVALID_VERIFICATION_TOKEN);
    expect(await rowOf(api, user.username)).toEqual(before);
  });

  it("follows EMAIL_VERIFY_TTL, and the mail says how long the link works", async () => {
    const user = await shortTtl.createUser();
    const [mail] = await shortTtl.mailsTo(user.email);
    expect(mail?.text).toContain("10 minutes");
    const token = await linkTokenTo(shortTtl, user.email);
    shortTtl.clock.advance(600);
    expect((await verifyEmail(shortTtl, token)).status).toBe(400);
  });

  it("a change link expires the same way, and the address stays", async () => {
    const user = await shortTtl.signedIn();
    const newEmail = `later_${user.username}@example.net`;
    const change = { email: newEmail, password: user.password };
    expect((await shortTtl.send("POST", "/api/me/email", change, user.token)).status).toBe(200);
    const token = await linkTokenTo(shortTtl, newEmail);
    shortTtl.clock.advance(600);
    expect((await verifyEmail(shortTtl, token)).status).toBe(400);
    expect((await rowOf(shortTtl, user.username)).email).toBe(user.email);
  });
});
