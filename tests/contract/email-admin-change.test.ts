import { fileURLToPath } from "node:url";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, users } from "../../src/db/schema";
import { requestResetToken, resetPassword, resetRowsOf, rowOf } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";
import {
  emailTokensOf,
  INVALID_VERIFICATION_TOKEN,
  linkTokensTo,
  linkTokenTo,
  verifyEmail,
} from "../support/email-helpers";

// An ADMIN's PUT /api/user/{username} with a new email: set at once, unverified, and a link to
// the new address.

let api: ContractApi;
beforeAll(async () => {
  api = await startApi({ env: { EXPOSE_RESET_TOKEN: "true" } });
});
afterAll(() => api.close());

const put = (username: string, body: unknown, token: string) =>
  api.send("PUT", `/api/user/${username}`, body, token);
const fresh = (label: string) => `${label}_${Math.random().toString(36).slice(2, 8)}@example.org`;

/** A USER whose address is verified through its registration link. */
async function verifiedUser() {
  const user = await api.signedIn();
  expect((await verifyEmail(api, await linkTokenTo(api, user.email))).status).toBe(200);
  return user;
}

describe("PUT /api/user/{username} with a new email", () => {
  it("sets it unverified and mails a verification link to the new address", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await verifiedUser();
    const newEmail = fresh("admin_set");
    const res = await put(user.username, { email: newEmail }, admin.token);
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as { user: { email: string; email_verified: boolean } };
    expect(body.user).toMatchObject({ email: newEmail, email_verified: false });
    const row = await rowOf(api, user.username);
    expect(row).toMatchObject({ email: newEmail, emailVerified: false });

    const token = await linkTokenTo(api, newEmail);
    expect(await api.mailsTo(newEmail)).toHaveLength(1);
    // The old address gets nothing more than its registration link.
    expect(await api.mailsTo(user.email)).toHaveLength(1);
    expect((await verifyEmail(api, token)).status).toBe(200);
    expect((await rowOf(api, user.username)).emailVerified).toBe(true);
  });

  it("records user.updated (email) and email.verification_sent, both by the ADMIN", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const adminId = (await rowOf(api, admin.username)).id;
    const user = await api.createUser();
    const row = await rowOf(api, user.username);
    await put(user.username, { email: fresh("audited") }, admin.token);
    const entries = await api.db.select().from(auditLog).where(eq(auditLog.targetId, row.id));
    const recent = entries.filter((e) => e.actorId === adminId);
    expect(recent.map((e) => [e.action, e.fields, e.detail]).sort()).toEqual([
      ["email.verification_sent", [], "admin_update"],
      ["user.updated", ["email"], null],
    ]);
  });

  it("voids the account's earlier email links and its reset link", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.signedIn();
    const registration = await linkTokenTo(api, user.email);
    const pending = fresh("pending");
    const change = { email: pending, password: user.password };
    expect((await api.send("POST", "/api/me/email", change, user.token)).status).toBe(200);
    const resetToken = await requestResetToken(api, user);
    const newEmail = fresh("by_admin");
    expect((await put(user.username, { email: newEmail }, admin.token)).status).toBe(200);

    for (const stale of [registration, await linkTokenTo(api, pending)]) {
      const res = await verifyEmail(api, stale);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual(INVALID_VERIFICATION_TOKEN);
    }
    expect((await resetPassword(api, resetToken, "a password for nobody")).status).toBe(400);
    const row = await rowOf(api, user.username);
    expect(row).toMatchObject({ email: newEmail, emailVerified: false });
    expect(await resetRowsOf(api, row.id)).toEqual([]);
    expect((await emailTokensOf(api, row.id)).map((t) => [t.purpose, t.email])).toEqual([
      ["verify", newEmail],
    ]);
  });

  it("the same address (any letter case), or other fields only: still verified, nothing mailed", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await verifiedUser();
    for (const body of [{ email: user.email.toUpperCase() }, { first_name: "Renamed" }]) {
      const res = await put(user.username, body, admin.token);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { user: object }).user).toMatchObject({
        email_verified: true,
      });
    }
    expect(await linkTokensTo(api, user.email)).toHaveLength(1);
    expect(await linkTokensTo(api, user.email.toUpperCase())).toEqual([]);
    expect(await emailTokensOf(api, (await rowOf(api, user.username)).id)).toEqual([]);
  });

  it("a taken address is 409, nothing changed and nothing mailed", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const [user, other] = [await verifiedUser(), await api.createUser()];
    const before = await rowOf(api, user.username);
    const res = await put(user.username, { email: other.email }, admin.token);
    expect(res.status).toBe(409);
    expect(await rowOf(api, user.username)).toEqual(before);
    expect(await api.mailsTo(other.email)).toHaveLength(1);
    expect(await emailTokensOf(api, before.id)).toEqual([]);
  });
});

describe("the account's mail language", () => {
  it("is the registering request's Accept-Language, cleaned and capped", async () => {
    const username = `lang_${Math.random().toString(36).slice(2, 8)}`;
    const res = await api.request("/api/user/register", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "accept-language": `de-CH,de;q=0.9,<script>${"x".repeat(100)}`,
      },
      body: JSON.stringify({
        username,
        first_name: "Lang",
        last_name: "User",
        email: `${username}@example.com`,
        password: "a password with a language",
      }),
    });
    expect(res.status).toBe(201);
    const row = await rowOf(api, username);
    expect(row.mailLanguage?.startsWith("de-CH,de;q=0.9,script")).toBe(true);
    expect(row.mailLanguage?.length).toBeLessThanOrEqual(64);
    // Without the header: none kept (fetch over HTTP sends `*` by default, kept as is).
    const plain = await api.createUser();
    expect([null, "*"]).toContain((await rowOf(api, plain.username)).mailLanguage);
  });
});

describe("the link an ADMIN's change sends speaks the account's language", () => {
  // German verification templates only: English is the built-in fallback.
  const TEMPLATES = fileURLToPath(
    new URL("../fixtures/mail-templates-verification", import.meta.url),
  );
  let templated: ContractApi;
  beforeAll(async () => {
    templated = await startApi({ env: { MAIL_TEMPLATES_DIR: TEMPLATES } });
  }, 180_000);
  afterAll(() => templated?.close());

  const withLanguage = (path: string, language: string, body: unknown, token?: string) =>
    templated.request(path, {
      method: path.startsWith("/api/user/register") ? "POST" : "PUT",
      headers: {
        "content-type": "application/json",
        "accept-language": language,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    });

  it("registered in German, changed by an ADMIN asking in English: the link comes in German", async () => {
    const admin = await templated.signedIn({ role: "ADMIN" });
    const username = `de_${Math.random().toString(36).slice(2, 8)}`;
    const account = {
      username,
      first_name: "Greta",
      last_name: "Beispiel",
      email: `${username}@example.com`,
      password: "ein langes Passwort bitte",
    };
    expect((await withLanguage("/api/user/register", "de-DE", account)).status).toBe(201);
    const [welcome] = await templated.mailsTo(account.email);
    expect(welcome?.subject).toBe(`Adresse bestätigen, ${username}`);

    const newEmail = fresh("de_moved");
    const res = await withLanguage(`/api/user/${username}`, "en", { email: newEmail }, admin.token);
    expect(res.status).toBe(200);
    const [mail] = await templated.mailsTo(newEmail);
    expect(mail?.subject).toBe(`Adresse bestätigen, ${username}`);
    expect(mail?.text).toContain("Der Link gilt 24 Stunden.");
    expect((await verifyEmail(templated, await linkTokenTo(templated, newEmail))).status).toBe(200);
  });

  it("an account without a language gets the ADMIN's request's language, here English", async () => {
    const admin = await templated.signedIn({ role: "ADMIN" });
    const user = await templated.createUser();
    await templated.db
      .update(users)
      .set({ mailLanguage: null })
      .where(eq(users.username, user.username));
    const newEmail = fresh("en_moved");
    const res = await withLanguage(
      `/api/user/${user.username}`,
      "en",
      { email: newEmail },
      admin.token,
    );
    expect(res.status).toBe(200);
    const [mail] = await templated.mailsTo(newEmail);
    expect(mail?.subject).toBe("Confirm your email address");
  });
});
