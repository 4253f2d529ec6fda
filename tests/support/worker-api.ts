import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { unstable_startWorker } from "wrangler";
import type { MailMessage } from "../../src/mail/mailer";
import { apiClient, checkedResponse } from "./api-client";
import type { ContractApi, StartOptions } from "./contract-api";
import { createTestDatabase, type TestDatabase } from "./database";
import { startFakeResend } from "./fake-resend";
import { TEST_JWT_SECRET, testEnv } from "./test-env";

const WRANGLER_TOML = fileURLToPath(new URL("../../wrangler.toml", import.meta.url));
// Mail leaves the Worker in ctx.waitUntil after the response, so the test cannot await it; it
// waits until neither the API nor the fake Resend has seen traffic for this long.
const MAIL_QUIET_MS = 300;
const MAIL_WAIT_MAX_MS = 5_000;

/**
 * The real Worker (src/worker.ts under wrangler.toml) in a local workerd, bound through the
 * Hyperdrive binding to the test file's own Postgres database, sending mail with the Resend SDK
 * to a fake Resend server. `options.env` become Worker vars.
 */
export async function createWorkerApi(
  options: StartOptions & {
    /** Where the Worker's Hyperdrive binding points instead (a proxy in front of the database). */
    hyperdriveUrl?: (databaseUrl: string) => string;
  } = {},
): Promise<ContractApi & { database: TestDatabase }> {
  // workerd reaches Postgres over TCP: a server (TEST_DATABASE_URL or the local one), no PGlite.
  const database = await createTestDatabase({ needsServer: true });
  const databaseUrl = database.url as string;
  const resend = await startFakeResend();
  const vars = testEnv({
    RESEND_API_KEY: "re_test_worker",
    RESEND_BASE_URL: resend.url,
    ...options.env,
  });
  const worker = await unstable_startWorker({
    config: WRANGLER_TOML,
    // A path that does not exist: never a developer's .dev.vars or .env.
    envFiles: [".env.worker-tests-none"],
    bindings: {
      HYPERDRIVE: {
        type: "hyperdrive",
        id: "worker-tests",
        localConnectionString: withPassword(options.hyperdriveUrl?.(databaseUrl) ?? databaseUrl),
      },
      ...Object.fromEntries(
        Object.entries(vars).map(([name, value]) => [name, { type: "plain_text", value }]),
      ),
    },
    sendMetrics: false,
    // What `wrangler dev` derives from nodejs_compat; the programmatic API leaves it unset.
    build: { nodejsCompatMode: "v2" },
    dev: {
      server: { hostname: "127.0.0.1", port: 0 },
      inspector: false,
      persist: false,
      watch: false,
      liveReload: false,
      // WORKER_TEST_LOG=debug shows wrangler's and the dev proxy's own logging too.
      logLevel: process.env.WORKER_TEST_LOG === "debug" ? "debug" : "warn",
    },
  });
  let base: URL;
  try {
    await worker.ready;
    base = await worker.url;
  } catch (error) {
    await Promise.allSettled([worker.dispose(), resend.close(), database.drop()]);
    throw error;
  }

  let lastResponseAt = Date.now();
  const client = apiClient(async (path, init) => {
    // Redirects are part of the contract (GET / → /doc): look at them, as app.request does.
    let res = await fetch(new URL(path, base), { redirect: "manual", ...init });
    if (await isDevProxyRestart(res)) {
      res = await fetch(new URL(path, base), { redirect: "manual", ...init });
    }
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
    db: database.db,
    database,
    jwtSecret: TEST_JWT_SECRET,
    async mailsTo(address) {
      return (await settledMails()).filter((m) => m.to === address);
    },
    async close() {
      await worker.dispose();
      await resend.close();
      await database.drop();
    },
  };
}

/**
 * wrangler's dev proxy (not the Worker) breaks its connection to the Worker when the Worker
 * answers a streamed upload before reading it all (413 on an oversized body), and then answers the
 * next request with this 503 without passing it on. The request never reached the Worker, so
 * sending it again is safe; any other 5xx still fails the test.
 */
async function isDevProxyRestart(res: Response) {
  if (res.status !== 503 || !res.headers.get("content-type")?.startsWith("text/plain"))
    return false;
  return (await res.clone().text()).startsWith("Your worker restarted mid-request.");
}

/** wrangler refuses a Hyperdrive URL without a password, even for a server that asks none. */
function withPassword(url: string) {
  const u = new URL(url);
  if (!u.password) u.password = "unused";
  return u.toString();
}
