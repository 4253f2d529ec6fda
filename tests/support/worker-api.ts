import { setTimeout as sleep } from "node:timers/promises";
import { inject } from "vitest";
import type { MailMessage } from "../../src/mail/mailer";
import { apiClient, checkedResponse } from "./api-client";
import type { ContractApi, StartOptions } from "./contract-api";
import { createTestDatabase, type TestDatabase } from "./database";
import { startFakeResend } from "./fake-resend";
import { TEST_JWT_SECRET, testEnv } from "./test-env";

// Mail leaves the Worker in ctx.waitUntil after the response, so the test cannot await it; it
// waits until neither the API nor the fake Resend has seen traffic for this long.
const MAIL_QUIET_MS = 300;
const MAIL_WAIT_MAX_MS = 5_000;

/** The part of Miniflare's API these tests use (loaded from wrangler's own dependency). */
type MiniflareClass = new (
  options: Record<string, unknown>,
) => {
  ready: Promise<URL>;
  dispose(): Promise<void>;
  getWorker(): Promise<{ scheduled(options: { cron: string }): Promise<ScheduledResult> }>;
};

/** How workerd reports a scheduled event it ran (once its waitUntil work has settled). */
export type ScheduledResult = { outcome: string; noRetry: boolean };

/**
 * The deployable Worker bundle (built once per run by worker-bundle.ts) in a local workerd through
 * Miniflare, as `wrangler dev` runs it but without wrangler's dev proxy and file watcher: its
 * Hyperdrive binding on the test file's own Postgres database, wrangler.toml's compatibility
 * settings and [vars], `options.env` on top, and mail through the Resend SDK to a fake Resend.
 */
export async function createWorkerApi(
  options: StartOptions & {
    /** Where the Worker's Hyperdrive binding points instead (a proxy in front of the database). */
    hyperdriveUrl?: (databaseUrl: string) => string;
    /** Receives what the Worker logs (console.*), line by line, instead of the test's output. */
    onLog?: (entry: { level: string; message: string }) => void;
  } = {},
): Promise<
  ContractApi & {
    database: TestDatabase;
    url: URL;
    /** Runs the Worker's scheduled handler, as a Cron Trigger would. */
    scheduled(cron: string): Promise<ScheduledResult>;
  }
> {
  // workerd reaches Postgres over TCP: a server (TEST_DATABASE_URL or the local one), no PGlite.
  const database = await createTestDatabase({ needsServer: true });
  const databaseUrl = database.url as string;
  const resend = await startFakeResend();
  const vars = testEnv({
    RESEND_API_KEY: "re_test_worker",
    RESEND_BASE_URL: resend.url,
    ...options.env,
  });
  const bundle = inject("workerBundle");
  if (!bundle)
    throw new Error("worker tests run in the vitest project `worker` (it builds the bundle)");
  const { Miniflare } = (await import(bundle.miniflarePath)) as { Miniflare: MiniflareClass };
  const worker = new Miniflare({
    modules: bundle.modules,
    modulesRoot: bundle.modulesRoot,
    compatibilityDate: bundle.compatibilityDate,
    compatibilityFlags: bundle.compatibilityFlags,
    bindings: { ...bundle.vars, ...vars },
    // As Cloudflare serves them: a request for one of these files never reaches the Worker.
    assets: { directory: bundle.assetsDirectory, routerConfig: { has_user_worker: true } },
    hyperdrives: { HYPERDRIVE: withPassword(options.hyperdriveUrl?.(databaseUrl) ?? databaseUrl) },
    host: "127.0.0.1",
    port: 0,
    // No request.cf from the network: offline is fine.
    cf: false,
    ...(options.onLog && {
      handleStructuredLogs: (entry: { level: string; message: string }) => {
        options.onLog?.(entry);
      },
    }),
  });
  let base: URL;
  try {
    base = await worker.ready;
  } catch (error) {
    await Promise.allSettled([worker.dispose(), resend.close(), database.drop()]);
    throw error;
  }

  let lastResponseAt = Date.now();
  const client = apiClient(async (path, init) => {
    // Redirects are part of the contract (GET / → /doc): look at them, as app.request does.
    const res = await fetchOnce(new URL(path, base), { redirect: "manual", ...init });
    lastResponseAt = Date.now();
    return checkedResponse(path, res);
  }, database.db);

  async function settledMails(): Promise<MailMessage[]> {
    const deadline = Date.now() + MAIL_WAIT_MAX_MS;
    let seen = resend.requests.length;
    let changedAt = Date.now();
    while (Date.now() < deadline) {
      if (resend.requests.length !== seen) {
        seen = resend.requests.length;
        changedAt = Date.now();
      }
      if (Date.now() - Math.max(changedAt, lastResponseAt) >= MAIL_QUIET_MS) break;
      await sleep(20);
    }
    return resend.emails().map(({ body }) => {
      const { to, subject, text, html } = body as MailMessage & { to: string | string[] };
      return { to: Array.isArray(to) ? to.join(",") : to, subject, text, html };
    });
  }

  return {
    ...client,
    unchecked: (path, init) => fetchOnce(new URL(path, base), { redirect: "manual", ...init }),
    /** Where workerd listens, for tests that speak HTTP on a socket of their own. */
    url: base,
    db: database.db,
    database,
    jwtSecret: TEST_JWT_SECRET,
    baseUrl: async () => base.origin,
    async mailsTo(address) {
      return (await settledMails()).filter((m) => m.to === address);
    },
    async scheduled(cron) {
      return (await worker.getWorker()).scheduled({ cron });
    },
    async close() {
      await worker.dispose();
      await resend.close();
      await database.drop();
    },
  };
}

/**
 * fetch, sent again once when it failed on a reused connection that workerd had closed: workerd
 * closes a keep-alive connection after answering a request whose body it did not read (413), and
 * Node's fetch may already have picked that connection for the next request, which then never
 * reached the Worker. A streamed body is teed first, so its second copy can be sent again.
 */
async function fetchOnce(url: URL, init: RequestInit): Promise<Response> {
  let again = init;
  if (init.body instanceof ReadableStream) {
    const [first, second] = init.body.tee();
    init = { ...init, body: first };
    again = { ...init, body: second };
  }
  try {
    return await fetch(url, init);
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if (code !== "ECONNRESET" && code !== "UND_ERR_SOCKET") throw error;
    return fetch(url, again);
  }
}

/** Miniflare refuses a Hyperdrive URL without a password, even for a server that asks none. */
function withPassword(url: string) {
  const u = new URL(url);
  if (!u.password) u.password = "unused";
  return u.toString();
}
