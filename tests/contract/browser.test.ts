import { fileURLToPath } from "node:url";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOC_CSP, PAGE_CSP } from "../../src/routes/pages/pages.handlers";
import { resetMailsTo } from "../support/auth-helpers";
import { closeApiAndBrowser, openApiAndBrowser } from "../support/browser";
import type { ContractApi } from "../support/contract-api";
import { awayFromStepEdge, codeAt } from "../support/mfa-helpers";

const SCREENSHOT = fileURLToPath(new URL("../../docs/swagger-ui.png", import.meta.url));
// What Chromium logs for a response of 400, which the reset page is made to provoke.
const BAD_REQUEST_LOGGED = /^Failed to load resource: the server responded with a status of 400/;
// Each takes 2 to 15 s; Swagger UI redraws slowly on a loaded 2-core machine.
const BROWSER_TEST = { timeout: 90_000 };

let api: ContractApi;
let base: string;
let browser: Browser;
beforeAll(async () => {
  ({ api, base, browser } = await openApiAndBrowser());
});
afterAll(() => closeApiAndBrowser({ api, browser }));

type Session = { page: Page; outside: string[]; errors: string[] };

/**
 * A fresh browser profile (closed with the browser) in which every request to a host other than the API fails (and is
 * reported by `expectCleanRun`), as it would offline, and every console error is kept.
 */
async function openBrowser(): Promise<Session> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1100 } });
  // A step that cannot happen fails with its own message, well inside the test's timeout.
  context.setDefaultTimeout(10_000);
  const outside: string[] = [];
  const errors: string[] = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).origin === base) return route.continue();
    outside.push(url);
    return route.abort("blockedbyclient");
  });
  context.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  context.on("weberror", (error) => errors.push(error.error().message));
  return { page: await context.newPage(), outside, errors };
}

/** Nothing left the API's origin, and the only console errors are those of `expected`. */
function expectCleanRun({ outside, errors }: Session, expected: RegExp[] = []) {
  expect(outside, "requests to other hosts").toEqual([]);
  expect(errors, "console errors").toEqual(expected.map((line) => expect.stringMatching(line)));
}

/** The operations of /openapi.json as "METHOD /path", sorted. */
async function documentedOperations() {
  const res = await api.request("/openapi.json");
  const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

/** Opens /doc and waits until Swagger UI has drawn `count` operations. */
async function openDoc({ page, outside, errors }: Session, count: number) {
  const res = await page.goto(`${base}/doc`);
  expect(res?.status()).toBe(200);
  // No 'unsafe-inline': @hono/swagger-ui's start-up script runs by its hash, and a CSP refusal
  // would be a console error (expectCleanRun).
  expect(res?.headers()["content-security-policy"]).toBe(DOC_CSP);
  expect(DOC_CSP).not.toContain("unsafe-inline");
  await drawn(page, count).catch((error) => {
    // Say why: a blank page is mostly a script that did not load (offline, refused by the CSP).
    const why = { outside, errors };
    throw new Error(`Swagger UI drew no operations: ${JSON.stringify(why)}`, { cause: error });
  });
}

const drawn = (page: Page, count: number) =>
  page
    .locator(".opblock")
    .nth(count - 1)
    .waitFor();

const operation = (page: Page, method: string, path: string) =>
  page.locator(`.opblock-${method}:has(.opblock-summary-path[data-path="${path}"])`);

/** "Try it out" on an operation: fills what `fill` fills, executes, and reads the response shown. */
async function tryItOut(op: Locator, fill: (op: Locator) => Promise<void>) {
  if (!(await op.getAttribute("class"))?.includes("is-open")) {
    await op.locator(".opblock-summary-control").click();
  }
  // One button, "Try it out" or "Cancel" once trying; the inputs are enabled only while trying.
  const toggle = op.locator(".try-out__btn");
  await toggle.waitFor();
  if ((await toggle.textContent())?.trim() === "Try it out") await toggle.click();
  await fill(op);
  await op.getByRole("button", { name: "Execute" }).click();
  const shown = op.locator(".live-responses-table .response");
  const status = shown.locator(".response-col_status");
  await status.waitFor();
  const body = await shown.locator(".response-col_description pre").first().textContent();
  return { status: Number(await status.textContent()), body: JSON.parse(body ?? "null") };
}

const fillBody = (body: unknown) => (op: Locator) =>
  op.locator("textarea.body-param__text").fill(JSON.stringify(body));

const fillUsername = (username: string) => (op: Locator) =>
  op.locator('tr[data-param-name="username"] input').fill(username);

describe("GET /doc in a browser, offline", () => {
  it(
    "shows every operation of /openapi.json, under a CSP of 'self' and one script hash",
    BROWSER_TEST,
    async () => {
      const expected = await documentedOperations();
      const run = await openBrowser();
      await openDoc(run, expected.length);
      const shown = await run.page.$$eval(".opblock", (blocks) =>
        blocks.map((block) => {
          const method = block.querySelector(".opblock-summary-method")?.textContent;
          const path = block.querySelector(".opblock-summary-path")?.getAttribute("data-path");
          return `${method} ${path}`;
        }),
      );
      expect(shown.sort()).toEqual(expected);
      // The picture in the README: the operations list as a new user first sees it.
      const last = await run.page.locator(".opblock").last().boundingBox();
      const height = Math.ceil((last?.y ?? 0) + (last?.height ?? 0)) + 24;
      await run.page.screenshot({
        path: SCREENSHOT,
        fullPage: true,
        clip: { x: 0, y: 0, width: 1280, height },
      });
      expectCleanRun(run);
    },
  );

  it(
    "registers, logs in, authorizes and reads its own account; Authorize survives a reload",
    BROWSER_TEST,
    async () => {
      const count = (await documentedOperations()).length;
      const run = await openBrowser();
      const { page } = run;
      await openDoc(run, count);
      const username = `doc_${Math.random().toString(36).slice(2, 10)}`;
      const password = "a long passphrase for the browser";

      const registered = await tryItOut(
        operation(page, "post", "/api/user/register"),
        fillBody({
          username,
          first_name: "Swagger",
          last_name: "User",
          email: `${username}@example.com`,
          password,
        }),
      );
      expect(registered).toEqual({ status: 201, body: { msg: "User registered successfully." } });

      const login = await tryItOut(
        operation(page, "post", "/api/user/login"),
        fillBody({ username, password }),
      );
      expect(login.status).toBe(200);
      expect(login.body.access_token).toEqual(expect.any(String));

      await page.locator(".auth-wrapper .btn.authorize").click();
      const modal = page.locator(".modal-ux");
      await modal.locator("input").fill(login.body.access_token);
      await modal.getByRole("button", { name: "Apply credentials" }).click();
      await modal.getByRole("button", { name: "Close" }).click();

      const readOwn = operation(page, "get", "/api/user/{username}");
      const own = await tryItOut(readOwn, fillUsername(username));
      expect(own.status).toBe(200);
      expect(own.body).toMatchObject({ username, role: "USER", active: true });

      await page.reload();
      await drawn(page, count);
      const again = await tryItOut(readOwn, fillUsername(username));
      expect(again.status, "the token is still set after a reload").toBe(200);
      expectCleanRun(run);
    },
  );
});

describe("a second factor enrolled through /doc", () => {
  it(
    "starts the enrolment and confirms it with a code, with the bearer token set in Authorize",
    BROWSER_TEST,
    async () => {
      const count = (await documentedOperations()).length;
      const user = await api.signedIn();
      const run = await openBrowser();
      const { page } = run;
      await openDoc(run, count);
      await page.locator(".auth-wrapper .btn.authorize").click();
      const modal = page.locator(".modal-ux");
      await modal.locator("input").fill(user.token);
      await modal.getByRole("button", { name: "Apply credentials" }).click();
      await modal.getByRole("button", { name: "Close" }).click();

      const started = await tryItOut(
        operation(page, "post", "/api/me/mfa/totp"),
        fillBody({ password: user.password }),
      );
      expect(started.status).toBe(200);
      expect(started.body.secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(started.body.otpauth_url).toMatch(/^otpauth:\/\/totp\//);

      await awayFromStepEdge(api);
      const confirmed = await tryItOut(
        operation(page, "post", "/api/me/mfa/totp/confirm"),
        fillBody({ code: codeAt(api, started.body.secret) }),
      );
      expect(confirmed.status).toBe(200);
      expect(confirmed.body.backup_codes).toHaveLength(10);
      const me = await api.send("GET", "/api/me", undefined, user.token);
      expect(await me.json()).toMatchObject({ mfa_enabled: true });
      expectCleanRun(run);
    },
  );
});

describe("GET /reset-password, the page of the reset link", () => {
  it(
    "takes the mailed link to a new password, showing the API's refusals on the way",
    BROWSER_TEST,
    async () => {
      const user = await api.createUser();
      const newPassword = "a brand new passphrase";
      // Over real HTTP: without APP_URL the link is the reset page of the server that was asked.
      const forget = await fetch(`${base}/api/user/forget_password`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: user.username, email: user.email }),
      });
      expect(forget.status).toBe(200);
      const mails = await resetMailsTo(api, user.email);
      expect(mails).toHaveLength(1);
      const link = /https?:\/\/\S+/.exec(mails[0]?.text ?? "")?.[0] ?? "";
      const { origin, pathname, searchParams } = new URL(link);
      expect({ origin, pathname }).toEqual({ origin: base, pathname: "/reset-password" });
      expect(searchParams.get("token")).toMatch(/^[A-Za-z0-9_-]{43,}$/);

      const run = await openBrowser();
      const { page } = run;
      const res = await page.goto(link);
      expect(res?.status()).toBe(200);
      expect(res?.headers()["content-security-policy"]).toBe(PAGE_CSP);
      // The token leaves the address bar (and the history) once read.
      await expect.poll(() => page.url()).toBe(`${base}/reset-password`);

      const status = page.getByRole("status");
      const problems = page.locator("#problems li");
      const submit = async (password: string, again = password) => {
        await page.getByLabel("New password", { exact: true }).fill(password);
        await page.getByLabel("New password, again").fill(again);
        await page.getByRole("button", { name: "Set the new password" }).click();
      };
      /** Submits and returns what the API answered, once the page shows something for it. */
      const submitToApi = async (password: string) => {
        const answer = page.waitForResponse((r) => r.url() === `${base}/api/user/reset_password`);
        await submit(password);
        const response = await answer;
        await expect.poll(() => status.getAttribute("class")).not.toBe("pending");
        return { status: response.status(), body: await response.json() };
      };

      await submit(newPassword, `${newPassword}!`);
      await expect.poll(() => status.textContent()).toBe("The two passwords are not the same.");

      const common = await submitToApi("password123");
      expect(common.status).toBe(400);
      expect(await status.textContent()).toBe(common.body.msg);
      expect(await problems.count()).toBe(0);

      const short = await submitToApi("short");
      expect(short.body.code).toBe("VALIDATION_ERROR");
      expect(await status.textContent()).toBe(short.body.msg);
      expect(await problems.allTextContents()).toEqual(
        short.body.details.map((d: { path: string; message: string }) => `${d.path}: ${d.message}`),
      );

      const done = await submitToApi(newPassword);
      expect(done).toEqual({ status: 200, body: { msg: "Password has been reset." } });
      expect(await status.textContent()).toBe(
        "Password has been reset. You can now log in with the new password.",
      );
      expect(await page.locator("form").isHidden()).toBe(true);

      const login = (password: string) =>
        api.send("POST", "/api/user/login", { username: user.username, password });
      expect((await login(newPassword)).status).toBe(200);
      expect((await login(user.password)).status).toBe(401);

      // The link works once: opened again, the page shows the API's refusal.
      await page.goto(link);
      const used = await submitToApi("yet another passphrase");
      expect(used.body.code).toBe("INVALID_RESET_TOKEN");
      expect(await status.textContent()).toBe(used.body.msg);
      expectCleanRun(run, [BAD_REQUEST_LOGGED, BAD_REQUEST_LOGGED, BAD_REQUEST_LOGGED]);
    },
  );

  it("without a token, says so and shows no form", BROWSER_TEST, async () => {
    const run = await openBrowser();
    await run.page.goto(`${base}/reset-password`);
    await expect
      .poll(() => run.page.getByRole("status").textContent())
      .toBe("This link has no reset token. Ask for a new password reset email.");
    expect(await run.page.locator("form").isHidden()).toBe(true);
    expectCleanRun(run);
  });
});

describe("GET /verify-email, the page of the verification link", () => {
  it(
    "follows the link mailed at registration and confirms the address once",
    BROWSER_TEST,
    async () => {
      const username = `verify_${Math.random().toString(36).slice(2, 8)}`;
      const email = `${username}@example.com`;
      // Over real HTTP: without EMAIL_VERIFY_URL the link is the page of the server that was asked.
      const registered = await fetch(`${base}/api/user/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          username,
          first_name: "Link",
          last_name: "Follower",
          email,
          password: "a passphrase to verify",
        }),
      });
      expect(registered.status).toBe(201);
      const mails = await api.mailsTo(email);
      expect(mails).toHaveLength(1);
      const link = /https?:\/\/\S+/.exec(mails[0]?.text ?? "")?.[0] ?? "";
      const { origin, pathname, searchParams } = new URL(link);
      expect({ origin, pathname }).toEqual({ origin: base, pathname: "/verify-email" });
      expect(searchParams.get("token")).toMatch(/^[A-Za-z0-9_-]{43,}$/);

      const run = await openBrowser();
      const { page } = run;
      const res = await page.goto(link);
      expect(res?.status()).toBe(200);
      expect(res?.headers()["content-security-policy"]).toBe(PAGE_CSP);
      await expect.poll(() => page.url()).toBe(`${base}/verify-email`);
      // Opening the page spends nothing: a mail scanner that follows links must not.
      expect((await api.userRow(username))?.emailVerified).toBe(false);

      const status = page.getByRole("status");
      const confirm = async () => {
        const answer = page.waitForResponse((r) => r.url() === `${base}/api/user/verify_email`);
        await page.getByRole("button", { name: "Confirm this address" }).click();
        const response = await answer;
        await expect.poll(() => status.getAttribute("class")).not.toBe("pending");
        return { status: response.status(), body: await response.json() };
      };
      expect(await confirm()).toEqual({ status: 200, body: { msg: "Email verified." } });
      expect(await status.textContent()).toBe("Email verified. You can close this page.");
      expect(await page.locator("form").isHidden()).toBe(true);
      expect((await api.userRow(username))?.emailVerified).toBe(true);

      // Once: opened again, the page shows the API's refusal.
      await page.goto(link);
      const used = await confirm();
      expect(used.body.code).toBe("INVALID_VERIFICATION_TOKEN");
      expect(await status.textContent()).toBe(used.body.msg);
      expectCleanRun(run, [BAD_REQUEST_LOGGED]);
    },
  );

  it("without a token, says so and shows no form", BROWSER_TEST, async () => {
    const run = await openBrowser();
    await run.page.goto(`${base}/verify-email`);
    await expect
      .poll(() => run.page.getByRole("status").textContent())
      .toBe("This link has no verification token. Ask for a new verification email.");
    expect(await run.page.locator("form").isHidden()).toBe(true);
    expectCleanRun(run);
  });
});
