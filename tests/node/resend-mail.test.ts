import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { mailDelivery } from "../../src/db/schema";
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
let requests = 0;
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
        headers: { "content-type": "application/json", "x-request-id": `req-${++requests}` },
        body: JSON.stringify({ username: user.username, email: user.email }),
      }),
    /** The line logged for the failed mail of the request `res` answered, parsed. */
    failureOf(res: Response) {
      const id = res.headers.get("x-request-id");
      const lines = printed.filter((line) => line.includes('"mail send failed"'));
      return lines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((entry) => entry.request_id === id);
    },
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

/** What /ready says about mail. */
const readyMail = async () => {
  const res = await api.request("/ready");
  expect(res.status).toBe(200);
  return ((await res.json()) as { mail: { status: string; failures: number } }).mail;
};

describe("a failing Resend does not change the answer; it is logged with the request id, without the token, and counted", () => {
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
    // Registered (its verification mail sent) before Resend starts failing.
    const user = await api.createUser();
    await api.settle();
    fake.reply(reply);
    const res = await side.forget(user);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(RESET_SENT);

    const before = await readyMail();
    const [outcome] = await side.settle();
    // Handled: logged and recorded, not left to the generic background-failure log.
    expect(outcome?.status).toBe("fulfilled");
    const [request] = emailsTo(user.email);
    const token = tokenIn(request?.body as SentEmail);
    expect(token).toBeDefined();
    expect(side.failureOf(res)).toEqual({
      time: expect.any(String),
      level: "error",
      msg: "mail send failed",
      request_id: res.headers.get("x-request-id"),
      kind: "password_reset",
      language: "en",
      error: "Error",
      message: expect.stringContaining(`status ${reply.status}`),
    });
    expect(side.printed.join("\n")).not.toContain("undefined");
    for (const line of side.printed) {
      expect(line).not.toContain(token);
      expect(line).not.toContain(user.email);
    }
    expect(await readyMail()).toEqual({
      status: "failing",
      failures: before.failures + 1,
      last_failure_at: api.clock.now().toISOString(),
    });
    // The token the failed mail carried still works: the failure voided nothing.
    expect((await resetPassword(api, token, "after a failed mail")).status).toBe(200);
  });

  it("422 whose message quotes the mail it refused, reset link included", async () => {
    const side = appWith({});
    const user = await api.createUser();
    await api.settle();
    fake.reply((request) => ({
      status: 422,
      body: {
        statusCode: 422,
        name: "validation_error",
        message: `Invalid \`text\` field: ${(request.body as SentEmail).text}`,
      },
    }));
    const res = await side.forget(user);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(RESET_SENT);

    await side.settle();
    const token = tokenIn(emailsTo(user.email)[0]?.body as SentEmail);
    const failure = JSON.stringify(side.failureOf(res));
    expect(failure).toContain("status 422");
    expect(failure).toContain("Invalid `text` field");
    expect(failure).toContain("[redacted]");
    for (const line of side.printed) expect(line).not.toContain(token);
  });

  it("an unreachable Resend", async () => {
    const dead = await startFakeResend();
    await dead.close();
    const mailer: Mailer = resendMailer({ apiKey: API_KEY, from: FROM, baseUrl: dead.url });
    const side = appWith({ mailer });
    // Its verification mail sent and recorded first: a success recorded after the failure
    // would turn /ready's mail back to "ok" (the race failed CI under load).
    const user = await api.createUser();
    await api.settle();
    const res = await side.forget(user);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(RESET_SENT);
    await side.settle();
    expect(side.failureOf(res)?.request_id).toBe(res.headers.get("x-request-id"));
    expect((await readyMail()).status).toBe("failing");
    for (const line of side.printed) expect(line).not.toMatch(/token=|[A-Za-z0-9_-]{43}/);
  });
});

/**
 * An account whose own verification mail has gone (and been recorded) before the test goes on: the
 * success of that send shares this process's once-a-minute record with the side app's sends.
 */
async function registered() {
  const user = await api.createUser();
  await api.settle();
  return user;
}

describe("GET /ready tells that mail is failing", () => {
  it("until a mail goes out again; the count of failures stays", async () => {
    const side = appWith({});
    fake.reply({ status: 500, body: { statusCode: 500, name: "internal_server_error" } });
    expect((await side.forget(await registered())).status).toBe(200);
    await side.settle();
    const failing = await readyMail();
    expect(failing.status).toBe("failing");

    fake.reply(undefined);
    expect((await side.forget(await registered())).status).toBe(200);
    await side.settle();
    expect(await readyMail()).toEqual({ ...failing, status: "ok" });
  });

  it("records a success at most once a minute per process: another's failure shows that long", async () => {
    const side = appWith({});
    fake.reply(undefined);
    expect((await side.forget(await registered())).status).toBe(200);
    api.clock.advance(61);
    expect((await side.forget(await registered())).status).toBe(200);
    await side.settle();
    expect((await readyMail()).status).toBe("ok");
    // Another instance's failure, as its write leaves the row.
    await api.db.update(mailDelivery).set({ failing: true });

    expect((await side.forget(await registered())).status).toBe(200);
    await side.settle();
    expect((await readyMail()).status).toBe("failing");
    api.clock.advance(60);
    expect((await side.forget(await registered())).status).toBe(200);
    await side.settle();
    expect((await readyMail()).status).toBe("ok");
  });
});
