import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emailVerificationTokens, rateLimits, users } from "../../src/db/schema";
import { rowOf, sha256Hex } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";
import {
  EMAIL_VERIFIED,
  emailTokensOf,
  entriesOf,
  INVALID_VERIFICATION_TOKEN,
  linkTokensTo,
  linkTokenTo,
  verifyEmail,
} from "../support/email-helpers";

// Verification of the address at registration: the link's token is taken from the captured mail
// (on node-http and worker, sent through the real Resend SDK to the local fake).

let api: ContractApi;
let paced: ContractApi;
beforeAll(async () => {
  [api, paced] = await Promise.all([
    startApi({ needsServer: true }),
    // The contract's defaults: one verification mail per 60 s, 5 resend requests per minute.
    startApi({ env: { RESET_EMAIL_INTERVAL: "", RATE_LIMIT_VERIFY_EMAIL: "" } }),
  ]);
});
afterAll(() => Promise.all([api.close(), paced.close()]));

const me = (on: ContractApi, token: string) => on.send("GET", "/api/me", undefined, token);
const resend = (on: ContractApi, token?: string) =>
  on.send("POST", "/api/me/verify_email", undefined, token);
const SENT = { msg: "A verification link has been sent to your email address." };

describe("registration mails a verification link", () => {
  it("a 256-bit base64url token, stored only as its SHA-256, valid 24 hours", async () => {
    const user = await api.createUser();
    const mails = await api.mailsTo(user.email);
    expect(mails).toHaveLength(1);
    const token = await linkTokenTo(api, user.email);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(mails[0]?.html).toContain(`verify-email?token=${token}`);
    const row = await rowOf(api, user.username);
    const tokens = await emailTokensOf(api, row.id);
    expect(tokens).toEqual([
      expect.objectContaining({
        tokenHash: await sha256Hex(token),
        purpose: "verify",
        email: user.email,
      }),
    ]);
    const [stored] = tokens;
    expect((stored?.expiresAt.getTime() ?? 0) - (stored?.createdAt.getTime() ?? 0)).toBe(
      86_400_000,
    );
    expect(JSON.stringify(tokens)).not.toContain(token);
    expect(row.emailVerified).toBe(false);
    const entries = await entriesOf(api, row.id);
    // Written by one statement: in either order.
    expect(entries.map((e) => e.action).sort()).toEqual([
      "email.verification_sent",
      "user.registered",
    ]);
    expect(JSON.stringify(entries)).not.toContain(token);
  });

  it("the public user says email_verified: false until the link is used", async () => {
    const user = await api.signedIn();
    const res = await me(api, user.token);
    expect(await res.json()).toMatchObject({ username: user.username, email_verified: false });
  });
});

describe("POST /api/user/verify_email", () => {
  it("with the mailed token: 200, the account verified, the token spent", async () => {
    const user = await api.signedIn();
    const token = await linkTokenTo(api, user.email);
    const res = await verifyEmail(api, token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(EMAIL_VERIFIED);
    const row = await rowOf(api, user.username);
    expect(row.emailVerified).toBe(true);
    expect(await emailTokensOf(api, row.id)).toEqual([]);
    expect(await (await me(api, user.token)).json()).toMatchObject({ email_verified: true });
    expect((await entriesOf(api, row.id)).at(-1)?.action).toBe("email.verified");
  });

  it("a used token is 400 INVALID_VERIFICATION_TOKEN the second time", async () => {
    const user = await api.createUser();
    const token = await linkTokenTo(api, user.email);
    expect((await verifyEmail(api, token)).status).toBe(200);
    const before = await rowOf(api, user.username);
    const again = await verifyEmail(api, token);
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual(INVALID_VERIFICATION_TOKEN);
    expect(await rowOf(api, user.username)).toEqual(before);
  });

  it.each([
    ["an unknown token", "A".repeat(43)],
    ["an empty-looking token", "x"],
  ])("%s is 400 INVALID_VERIFICATION_TOKEN and changes nothing", async (_label, token) => {
    const user = await api.createUser();
    const before = await rowOf(api, user.username);
    const res = await verifyEmail(api, token);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(INVALID_VERIFICATION_TOKEN);
    expect(await rowOf(api, user.username)).toEqual(before);
    expect(await emailTokensOf(api, before.id)).toHaveLength(1);
  });

  it("an expired token is 400 and the account stays unverified", async () => {
    const user = await api.createUser();
    const token = await linkTokenTo(api, user.email);
    const row = await rowOf(api, user.username);
    // Past its expiry on whatever clock the server uses.
    await api.db
      .update(emailVerificationTokens)
      .set({ expiresAt: sql`${emailVerificationTokens.createdAt} - interval '1 second'` })
      .where(eq(emailVerificationTokens.userId, row.id));
    const res = await verifyEmail(api, token);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(INVALID_VERIFICATION_TOKEN);
    expect(await rowOf(api, user.username)).toEqual(row);
  });

  it("of 10 concurrent uses of one token exactly one succeeds", async () => {
    for (let round = 0; round < 3; round++) {
      const user = await api.createUser();
      const token = await linkTokenTo(api, user.email);
      const answers = await Promise.all(Array.from({ length: 10 }, () => verifyEmail(api, token)));
      const statuses = answers.map((res) => res.status).sort();
      expect(statuses, `round ${round}`).toEqual([200, ...Array(9).fill(400)]);
      const row = await rowOf(api, user.username);
      expect(row.emailVerified).toBe(true);
      const verified = (await entriesOf(api, row.id)).filter((e) => e.action === "email.verified");
      expect(verified).toHaveLength(1);
    }
  });

  it("a token that is not a string is 400 VALIDATION_ERROR", async () => {
    const res = await verifyEmail(api, 42);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "VALIDATION_ERROR" });
  });
});

describe("POST /api/me/verify_email", () => {
  it("mails a new link and the earlier one stops working", async () => {
    const user = await api.signedIn();
    const first = await linkTokenTo(api, user.email);
    const res = await resend(api, user.token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(SENT);
    const tokens = await linkTokensTo(api, user.email);
    expect(tokens).toHaveLength(2);
    const newer = tokens[1] as string;
    expect(newer).not.toBe(first);
    const row = await rowOf(api, user.username);
    expect((await emailTokensOf(api, row.id)).map((t) => t.tokenHash)).toEqual([
      await sha256Hex(newer),
    ]);
    const stale = await verifyEmail(api, first);
    expect(stale.status).toBe(400);
    expect(await stale.json()).toEqual(INVALID_VERIFICATION_TOKEN);
    expect((await rowOf(api, user.username)).emailVerified).toBe(false);
    expect((await verifyEmail(api, newer)).status).toBe(200);
    const actions = (await entriesOf(api, row.id)).map((e) => `${e.action}:${e.detail}`);
    expect(actions).toContain("email.verification_sent:resend");
  });

  it("an account already verified gets 409 and no mail", async () => {
    const user = await api.signedIn();
    expect((await verifyEmail(api, await linkTokenTo(api, user.email))).status).toBe(200);
    const res = await resend(api, user.token);
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({
      msg: "Your email address is already verified.",
      code: "CONFLICT",
    });
    expect(await api.mailsTo(user.email)).toHaveLength(1);
    expect(await emailTokensOf(api, (await rowOf(api, user.username)).id)).toEqual([]);
  });

  it("without a token: 401, nothing sent", async () => {
    const res = await resend(api);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("inside RESET_EMAIL_INTERVAL (default 60 s) the same 200, nothing sent, the earlier link kept", async () => {
    const user = await paced.signedIn();
    const first = await linkTokenTo(paced, user.email);
    const before = await emailTokensOf(paced, (await rowOf(paced, user.username)).id);
    const res = await resend(paced, user.token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(SENT);
    expect(await linkTokensTo(paced, user.email)).toEqual([first]);
    expect(await emailTokensOf(paced, (await rowOf(paced, user.username)).id)).toEqual(before);
  });

  it("once the interval has passed, sends again", async () => {
    const user = await paced.signedIn();
    const row = await rowOf(paced, user.username);
    // The registration's link dated 61 s back.
    await paced.db
      .update(emailVerificationTokens)
      .set({ createdAt: sql`${emailVerificationTokens.createdAt} - interval '61 seconds'` })
      .where(eq(emailVerificationTokens.userId, row.id));
    expect((await resend(paced, user.token)).status).toBe(200);
    expect(await linkTokensTo(paced, user.email)).toHaveLength(2);
  });

  it("is limited per client IP by RATE_LIMIT_VERIFY_EMAIL (default 5/60): 429 with Retry-After", async () => {
    await paced.db.delete(rateLimits);
    const user = await paced.signedIn();
    for (let i = 0; i < 5; i++) expect((await resend(paced, user.token)).status).toBe(200);
    const over = await resend(paced, user.token);
    expect(over.status).toBe(429);
    expect(over.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await over.json()).toMatchObject({ code: "RATE_LIMITED" });
    expect(await linkTokensTo(paced, user.email)).toHaveLength(1);
    await paced.db.delete(rateLimits);
  });
});

describe("GET /api/users?verified=", () => {
  it("lists only the verified, or only the unverified, accounts", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const [yes, no] = [await api.createUser(), await api.createUser()];
    expect((await verifyEmail(api, await linkTokenTo(api, yes.email))).status).toBe(200);
    const names = async (verified: string) => {
      const res = await api.send(
        "GET",
        `/api/users?limit=100&verified=${verified}&q=${encodeURIComponent("example.com")}`,
        undefined,
        admin.token,
      );
      expect(res.status).toBe(200);
      const body = (await res.json()) as { users: { username: string; email_verified: boolean }[] };
      return body.users;
    };
    const verified = await names("true");
    expect(verified.every((u) => u.email_verified)).toBe(true);
    expect(verified.map((u) => u.username)).toContain(yes.username);
    expect(verified.map((u) => u.username)).not.toContain(no.username);
    const unverified = await names("false");
    expect(unverified.every((u) => !u.email_verified)).toBe(true);
    expect(unverified.map((u) => u.username)).toContain(no.username);
    const bad = await api.send("GET", "/api/users?verified=yes", undefined, admin.token);
    expect(bad.status).toBe(400);
  });
});

describe("users that existed before", () => {
  it("an account marked verified in the database reads email_verified: true", async () => {
    const user = await api.signedIn();
    await api.db
      .update(users)
      .set({ emailVerified: true })
      .where(eq(users.username, user.username));
    expect(await (await me(api, user.token)).json()).toMatchObject({ email_verified: true });
  });
});
