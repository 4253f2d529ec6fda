import { inject } from "vitest";
import type { ContractApi, StartOptions } from "./contract-api";
import { createTestDatabase, type TestDatabase } from "./database";
import { startFakeResend } from "./fake-resend";
import { httpContractApi } from "./http-api";
import { testEnv } from "./test-env";

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
  const database = options.database ?? (await createTestDatabase({ needsServer: true }));
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

  const api = httpContractApi({
    base,
    database,
    resend,
    stop: () => worker.dispose(),
    // workerd closes a connection, without saying so (no `Connection: close`), once it has
    // answered a request whose body the Worker did not read (a 415 or a 413, for one), and
    // Node's fetch may already have sent the next request on it, which is then lost.
    // Requests without a body keep the connection alive; any dropped connection fails the test.
    bodyOnOwnConnection: true,
  });
  return {
    ...api,
    /** Where workerd listens, for tests that speak HTTP on a socket of their own. */
    url: base,
    async scheduled(cron) {
      return (await worker.getWorker()).scheduled({ cron });
    },
  };
}

/** Miniflare refuses a Hyperdrive URL without a password, even for a server that asks none. */
function withPassword(url: string) {
  const u = new URL(url);
  if (!u.password) u.password = "unused";
  return u.toString();
}
