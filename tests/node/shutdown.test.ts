import { request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import { VERIFY_LINK_MARK } from "../support/auth-helpers";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { type FakeResend, startFakeResend } from "../support/fake-resend";
import { jsonLines, startNodeServer } from "../support/node-server";
import { testEnv } from "../support/test-env";

// The bound: from SIGTERM to exit.
const EXIT_BOUND_MS = 10_000;

// The bug was the pool closing under requests in flight: the server runs on Postgres.
let database: TestDatabase;
let resend: FakeResend;
beforeAll(async () => {
  database = await createTestDatabase({ needsServer: true });
  resend = await startFakeResend();
});
afterAll(async () => {
  await resend?.close();
  await database?.drop();
});

/** The server as `npm start` runs it, with real argon2 and mail through the Resend SDK. */
const start = (env: Record<string, string> = {}) =>
  startNodeServer(
    testEnv({
      DATABASE_URL: database.url as string,
      RESEND_API_KEY: "re_test_shutdown",
      RESEND_BASE_URL: resend.url,
      // A burst waits for a hashing slot longer than the default second on a loaded machine;
      // this test is about shutdown, not the cap's 503.
      HASH_QUEUE_TIMEOUT_MS: "30000",
      ...env,
    }),
  );

type Outcome = { status: number; body: string } | { error: string };

/**
 * A POST on a connection of its own (node:http, so the test knows when its bytes were written):
 * `written` once the whole request is handed to the kernel, `outcome` its status and body or the
 * error that took their place.
 */
function sendJson(url: URL, path: string, body: unknown) {
  let written = () => {};
  const writtenPromise = new Promise<void>((resolve) => {
    written = resolve;
  });
  const outcome = new Promise<Outcome>((resolve) => {
    const req = request(new URL(path, url), {
      method: "POST",
      agent: false,
      headers: { "content-type": "application/json" },
    });
    req.on("finish", written);
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on("error", (error: NodeJS.ErrnoException) =>
        resolve({ error: error.code ?? String(error) }),
      );
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      written();
      resolve({ error: error.code ?? String(error) });
    });
    req.end(JSON.stringify(body));
  });
  return { written: writtenPromise, outcome };
}

const post = (url: URL, path: string, body: unknown) =>
  fetch(new URL(path, url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

const account = (username: string) => ({
  username,
  first_name: "Shut",
  last_name: "Down",
  email: `${username}@example.com`,
  password: `pw-${username}-long enough`,
});

describe("shutdown on SIGTERM (Node)", () => {
  it("answers every request in flight, creates exactly the acknowledged accounts and exits 0 within 10 s", async () => {
    const server = await start();
    const user = account("sd_login");
    expect((await post(server.url, "/api/user/register", user)).status).toBe(201);

    const prefix = `sd_${Date.now().toString(36)}_`;
    const names = Array.from({ length: 20 }, (_, i) => `${prefix}${i}`);
    const login = { username: user.username, password: user.password };
    const logins = Array.from({ length: 30 }, () => sendJson(server.url, "/api/user/login", login));
    const registers = names.map((name) =>
      sendJson(server.url, "/api/user/register", account(name)),
    );
    const all = [...logins, ...registers];
    let answered = 0;
    for (const { outcome } of all) void outcome.then(() => answered++);

    // Mid-flight: every request has reached the server, which is working on them.
    await Promise.all(all.map((r) => r.written));
    await Promise.race(all.map((r) => r.outcome));
    const answeredBeforeSignal = answered;
    const signalledAt = performance.now();
    server.child.kill("SIGTERM");
    const code = await server.exited;
    const exitMs = performance.now() - signalledAt;
    const loginOutcomes = await Promise.all(logins.map((r) => r.outcome));
    const registerOutcomes = await Promise.all(registers.map((r) => r.outcome));

    // The signal came while most of the burst was still being worked on.
    expect(answeredBeforeSignal).toBeLessThan(all.length / 2);
    expect(loginOutcomes.map((o) => ("status" in o ? o.status : o.error))).toEqual(
      logins.map(() => 200),
    );
    expect(registerOutcomes.map((o) => ("status" in o ? o.status : o.error))).toEqual(
      registers.map(() => 201),
    );
    const rows = await database.db.select({ username: users.username }).from(users);
    expect(
      rows
        .map((r) => r.username)
        .filter((n) => n.startsWith(prefix))
        .sort(),
    ).toEqual([...names].sort());
    expect(code, server.stderr()).toBe(0);
    expect(exitMs).toBeLessThan(EXIT_BOUND_MS);
    expect(jsonLines(server.stdout()).filter((l) => l.msg === "shutting down")).toEqual([
      expect.objectContaining({ level: "info", signal: "SIGTERM" }),
    ]);
  });

  it("answers the requests on connections still queued for accept when the signal came", async () => {
    const server = await start();
    const user = account(`sd_queued_${Date.now().toString(36)}`);
    expect((await post(server.url, "/api/user/register", user)).status).toBe(201);
    const login = { username: user.username, password: user.password };
    // Paused, the server accepts nothing: the kernel completes the connections and queues them,
    // and takes the requests' bytes, as it does for a server busy when the signal comes.
    server.child.kill("SIGSTOP");
    const burst = Array.from({ length: 40 }, () => sendJson(server.url, "/api/user/login", login));
    await Promise.all(burst.map((r) => r.written));
    server.child.kill("SIGTERM");
    server.child.kill("SIGCONT");
    const outcomes = await Promise.all(burst.map((r) => r.outcome));
    expect(outcomes.map((o) => ("status" in o ? o.status : o.error))).toEqual(burst.map(() => 200));
    expect(await server.exited, server.stderr()).toBe(0);
  });

  it("sends the mail a request started before the signal, then exits 0", async () => {
    const server = await start();
    const user = account(`sd_mail_${Date.now().toString(36)}`);
    expect((await post(server.url, "/api/user/register", user)).status).toBe(201);
    // Resend confirms only after a while: the process must still be there to hear it.
    resend.reply({ status: 200, body: { id: "slow-email" }, delayMs: 1500 });
    try {
      const forget = await post(server.url, "/api/user/forget_password", {
        username: user.username,
        email: user.email,
      });
      expect(forget.status).toBe(200);
      server.child.kill("SIGINT");
      expect(await server.exited, server.stderr()).toBe(0);
    } finally {
      resend.reply(undefined);
    }
    // The reset mail (registering also mailed a verification link, long before).
    const sent = resend
      .emails()
      .map((r) => r.body as { to: string; text: string })
      .filter((mail) => !mail.text.includes(VERIFY_LINK_MARK))
      .map((mail) => mail.to);
    expect(sent).toEqual([user.email]);
  });

  it("writes out every access-log line before it exits, even to a reader that lags behind", async () => {
    const server = await start({ ACCESS_LOG: "on" });
    // The test stops reading the server's stdout: once the pipe is full, the server's writes
    // wait in its process, where an exit would drop them.
    server.child.stdout?.pause();
    const count = 2000;
    // 64 characters, the most a request id keeps: about 200 bytes a line, 400 kB in all.
    const ids = Array.from({ length: count }, (_, i) => `tail-${i}-`.padEnd(64, "x"));
    const queue = [...ids];
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
          const res = await fetch(new URL("/health", server.url), {
            headers: { "x-request-id": id },
          });
          expect(res.status).toBe(200);
          await res.arrayBuffer();
        }
      }),
    );
    server.child.kill("SIGTERM");
    // The reader comes back half a second later, or once the server is gone.
    await Promise.race([server.exited, sleep(500)]);
    server.child.stdout?.resume();
    expect(await server.exited, server.stderr()).toBe(0);

    const logged = new Set(
      jsonLines(server.stdout())
        .filter((l) => l.msg === "request")
        .map((l) => l.request_id),
    );
    expect(ids.filter((id) => !logged.has(id))).toEqual([]);
    expect(jsonLines(server.stdout()).at(-1)).toMatchObject({ msg: "shutting down" });
  });

  it("cuts work that outlasts SHUTDOWN_TIMEOUT_MS and exits 1 soon after that deadline", async () => {
    const server = await start({ SHUTDOWN_TIMEOUT_MS: "1000" });
    const user = account(`sd_late_${Date.now().toString(36)}`);
    expect((await post(server.url, "/api/user/register", user)).status).toBe(201);
    resend.reply({ status: 200, body: { id: "never-confirmed" }, delayMs: 10_000 });
    try {
      const forget = await post(server.url, "/api/user/forget_password", {
        username: user.username,
        email: user.email,
      });
      expect(forget.status).toBe(200);
      const signalledAt = performance.now();
      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(1);
      // The deadline, the 1.5 s the database may take to close after it, and a loaded machine.
      expect(performance.now() - signalledAt).toBeLessThan(EXIT_BOUND_MS);
    } finally {
      resend.reply(undefined);
    }
    expect(jsonLines(server.stderr()).map((l) => l.msg)).toContain(
      "shutdown deadline passed: cutting the requests still in flight",
    );
  });
});
