import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import type { Deps } from "../../src/deps";
import { mailerFor } from "../../src/mail/from-config";
import type { Mailer } from "../../src/mail/mailer";
import { resendMailer } from "../../src/mail/resend";
import { deferOnNode } from "../../src/node/deps";
import { login, RESET_SENT, resetPassword, VERIFY_LINK_MARK } from "../support/auth-helpers";
import { type FakeResend, startFakeResend } from "../support/fake-resend";
import { createTestApi, type NodeTestApi, TEST_JWT_SECRET } from "../support/node-api";

const API_KEY = "re_test_0123456789abcdef";
const FROM = "Accounts <accounts@example.test>";
const APP_URL = "https://app.example.test/reset?token=";

let fake: FakeResend;
let api: NodeTestApi;
beforeAll(async () => {
  fake = await startFakeResend();
  api = await createTestApi({
    mailer: resendMailer({ apiKey: API_KEY, from: FROM, baseUrl: fake.url }),
    env: { APP_URL },
  });
});
afterAll(async () => {
  await api.close();
  await fake.close();
});
beforeEach(() => fake.reply(undefined));
afterEach(() => {
  vi.restoreAllMocks();
});

type SentEmail = { from: string; to: string; subject: string; text: string; html: string };

const forget = (user: { username: string; email: string }) =>
  api.send("POST", "/api/user/forget_password", { username: user.username, email: user.email });

/** The reset emails Resend received for `address` (registering also mails a verification link). */
const emailsTo = (address: string) =>
  fake.emails().filter((r) => {
    const email = r.body as SentEmail | undefined;
    return email?.to === address && !email.text.includes(VERIFY_LINK_MARK);
  });

const tokenIn = (email: SentEmail) =>
  email.text.match(/reset\?token=([A-Za-z0-9_-]+)/)?.[1] as string;

/**
 * The test app with other mail wiring, its background work logged the way the Node entry logs
 * it, and everything printed to the console captured.
 */
function appWith(overrides: Partial<Deps>) {
  const work: Promise<unknown>[] = [];
  const printed: string[] = [];
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      printed.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
    });
  }
  const app = createApp(() => ({
    ...api.deps,
    defer: (task) => {
      deferOnNode(task);
      work.push(task);
    },
    ...overrides,
  }));
  return {
    printed,
    forget: (user: { username: string; email: string }) =>
      app.request("/api/user/forget_password", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: user.username, email: user.email }),
      }),
    /** Waits for the mail; deferOnNode's logging runs before this resolves. */
    settle: () => Promise.allSettled(work.splice(0)),
  };
}

describe("reset mail through the Resend SDK", () => {
  it("POSTs the mail to /emails with the API key, sender, recipient, subject and link", async () => {
    const user = await api.createUser();
    const res = await forget(user);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(RESET_SENT);
    const outcomes = await api.settle();
    expect(outcomes.every((o) => o.status === "fulfilled")).toBe(true);

    const [request, ...more] = emailsTo(user.email);
    expect(more).toEqual([]);
    expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request?.headers["content-type"]).toBe("application/json");
    const email = request?.body as SentEmail;
    expect(email).toMatchObject({ from: FROM, to: user.email, subject: "Reset your password" });
    const token = tokenIn(email);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(email.text).toContain(`${APP_URL}${token}`);
    expect(email.html).toContain(`${APP_URL}${token}`);
  });

  it("sends a link whose token resets the password", async () => {
    const user = await api.createUser();
    await forget(user);
    await api.settle();
    const [request] = emailsTo(user.email);
    const token = tokenIn(request?.body as SentEmail);
    expect((await resetPassword(api, token, "reset from the real mail")).status).toBe(200);
    expect((await login(api, user.username, "reset from the real mail")).status).toBe(200);
  });

  it("sends nothing to Resend when the account does not match", async () => {
    const user = await api.createUser();
    // Its verification mail out of the way first.
    await api.settle();
    const before = fake.requests.length;
    const res = await forget({ username: user.username, email: "someone-else@example.com" });
    expect(await res.json()).toEqual(RESET_SENT);
    await api.settle();
    expect(fake.requests.length).toBe(before);
  });

  it("is chosen by RESEND_API_KEY and honours RESEND_BASE_URL and MAIL_FROM", async () => {
    const { config } = loadConfig({
      NODE_ENV: "test",
      JWT_SECRET_KEY: TEST_JWT_SECRET,
      RESEND_API_KEY: "re_from_env",
      RESEND_BASE_URL: fake.url,
      MAIL_FROM: "Env Sender <env@example.test>",
    });
    const side = appWith({ mailer: mailerFor(config) });
    const user = await api.createUser();
    expect((await side.forget(user)).status).toBe(200);
    await side.settle();
    const [request] = emailsTo(user.email);
    expect(request?.headers.authorization).toBe("Bearer re_from_env");
    expect(request?.body).toMatchObject({ from: "Env Sender <env@example.test>" });
  });
});

describe("a failing Resend does not change the answer and is only logged, without the token", () => {
  it.each([
    [
      "422 validation_error",
      {
        status: 422,
        body: { statusCode: 422, name: "validation_error", message: "Invalid `from` field." },
      },
    ],
    [
      "429 rate_limit_exceeded",
      { status: 429, body: { statusCode: 429, name: "rate_limit_exceeded", message: "Too many." } },
    ],
    ["500 with a non-JSON body", { status: 500, body: "upstream exploded" }],
    ["503 JSON", { status: 503, body: { statusCode: 503, name: "internal_server_error" } }],
  ])("%s", async (_label, reply) => {
    const side = appWith({});
    fake.reply(reply);
    const user = await api.createUser();
    const res = await side.forget(user);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(RESET_SENT);

    const [outcome] = await side.settle();
    expect(outcome?.status).toBe("rejected");
    const [request] = emailsTo(user.email);
    const token = tokenIn(request?.body as SentEmail);
    expect(token).toBeDefined();
    const failure = side.printed.find((line) => line.includes("background task failed"));
    expect(failure).toContain(`status ${reply.status}`);
    expect(failure).not.toContain("undefined");
    for (const line of side.printed) expect(line).not.toContain(token);
    // The token the failed mail carried still works: the failure voided nothing.
    expect((await resetPassword(api, token, "after a failed mail")).status).toBe(200);
  });

  it("422 whose message quotes the mail it refused, reset link included", async () => {
    const side = appWith({});
    fake.reply((request) => ({
      status: 422,
      body: {
        statusCode: 422,
        name: "validation_error",
        message: `Invalid \`text\` field: ${(request.body as SentEmail).text}`,
      },
    }));
    const user = await api.createUser();
    const res = await side.forget(user);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(RESET_SENT);

    const [outcome] = await side.settle();
    const token = tokenIn(emailsTo(user.email)[0]?.body as SentEmail);
    // The error itself carries the token; what reaches the log must not.
    expect(String((outcome as PromiseRejectedResult).reason)).toContain(token);
    const failure = side.printed.find((line) => line.includes("background task failed"));
    expect(failure).toContain("status 422");
    expect(failure).toContain("Invalid `text` field");
    for (const line of side.printed) expect(line).not.toContain(token);
  });

  it("an unreachable Resend", async () => {
    const dead = await startFakeResend();
    await dead.close();
    const mailer: Mailer = resendMailer({ apiKey: API_KEY, from: FROM, baseUrl: dead.url });
    const side = appWith({ mailer });
    const user = await api.createUser();
    const res = await side.forget(user);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(RESET_SENT);
    const [outcome] = await side.settle();
    expect(outcome?.status).toBe("rejected");
    expect(side.printed.some((line) => line.includes("background task failed"))).toBe(true);
    for (const line of side.printed) expect(line).not.toMatch(/token=|[A-Za-z0-9_-]{43}/);
  });
});
