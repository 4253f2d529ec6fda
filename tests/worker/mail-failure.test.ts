import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESET_SENT, resetMailsTo } from "../support/auth-helpers";
import { createWorkerApi } from "../support/worker-api";
import { buildWorkerBundle } from "../support/worker-bundle";

// Mail leaves the Worker in ctx.waitUntil, after the response, in whichever isolate answered: a
// failure must reach the log with the request's id, and /ready through the database.
let api: Awaited<ReturnType<typeof createWorkerApi>>;
const logged: string[] = [];
beforeAll(async () => {
  api = await createWorkerApi({ onLog: (entry) => logged.push(entry.message) });
});
afterAll(() => api?.close());

const readyMail = async () => {
  const res = await api.request("/ready");
  expect(res.status).toBe(200);
  return ((await res.json()) as { mail: { status: string; failures: number } }).mail;
};

/** A new account, its verification mail already sent. */
async function registered() {
  const user = await api.createUser();
  await api.mailsTo(user.email);
  return user;
}

/** A reset for `user`, with a request id of the test's; the mail it sent, once settled. */
async function forget(requestId: string, user: { username: string; email: string }) {
  const res = await api.request("/api/user/forget_password", {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": requestId },
    body: JSON.stringify({ username: user.username, email: user.email }),
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual(RESET_SENT);
  const [mail] = await resetMailsTo(api, user.email);
  return { user, token: /token=([A-Za-z0-9_-]{43,})/.exec(mail?.text ?? "")?.[1] ?? "missing" };
}

describe("a failing Resend (Worker)", () => {
  it("is logged with the request id, never the link, and /ready says mail is failing until it recovers", async () => {
    const user = await registered();
    api.resend.reply({ status: 500, body: { statusCode: 500, name: "internal_server_error" } });
    const { token } = await forget("worker-mail-fails-1", user);
    const failures = logged
      .filter((line) => line.includes('"mail send failed"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(failures).toEqual([
      {
        time: expect.any(String),
        level: "error",
        msg: "mail send failed",
        request_id: "worker-mail-fails-1",
        kind: "password_reset",
        language: "en",
        error: "Error",
        message: expect.stringContaining("status 500"),
      },
    ]);
    for (const line of logged) {
      expect(line).not.toContain(token);
      expect(line).not.toContain(user.email);
    }
    const failing = await readyMail();
    expect(failing).toEqual({
      status: "failing",
      failures: 1,
      last_failure_at: expect.any(String),
    });

    api.resend.reply(undefined);
    await forget("worker-mail-works-2", await registered());
    expect(await readyMail()).toEqual({ ...failing, status: "ok" });
  });
});

describe("the Worker build with MAIL_TEMPLATES_DIR", () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), "worker-bad-templates-"));
  });
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  it("fails on a template the Node server would refuse, naming the file", async () => {
    const dir = join(scratch, "templates");
    await mkdir(join(dir, "en"), { recursive: true });
    await writeFile(join(dir, "en", "password_reset.txt"), "Hello {{user_name}}");
    const build = buildWorkerBundle(join(scratch, "out"), { MAIL_TEMPLATES_DIR: dir });
    await expect(build).rejects.toThrow(
      `Invalid mail templates: ${dir}/en/password_reset.txt, line 1: unknown variable {{user_name}}`,
    );
  });
});
