import { rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import type { ContractApi, StartOptions } from "./contract-api";
import { createTestDatabase, type TestDatabase } from "./database";
import { type FakeResend, startFakeResend } from "./fake-resend";
import { httpContractApi } from "./http-api";
import { type HyperdriveStandIn, startHyperdriveStandIn } from "./hyperdrive-stand-in";
import { testEnv } from "./test-env";
import { buildWorkerBundle, type WorkerBundle } from "./worker-bundle";

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
 * Between the binding and the database sits a stand-in for Hyperdrive's query cache, with its
 * default settings (hyperdrive-stand-in.ts): `close()` fails when the Worker sent a statement
 * that Hyperdrive may cache, which none of its reads may be (docs/workers.md, "Production, step by step").
 */
export async function createWorkerApi(
  options: StartOptions & {
    /** Where the Hyperdrive stand-in connects instead (a proxy in front of the database). */
    hyperdriveUrl?: (databaseUrl: string) => string;
    /** Receives what the Worker logs (console.*), line by line, instead of the test's output. */
    onLog?: (entry: { level: string; message: string }) => void;
  } = {},
): Promise<
  ContractApi & {
    database: TestDatabase;
    url: URL;
    hyperdrive: HyperdriveStandIn;
    /** The fake Resend the Worker sends through (a test may make it fail). */
    resend: FakeResend;
    /** Runs the Worker's scheduled handler, as a Cron Trigger would. */
    scheduled(cron: string): Promise<ScheduledResult>;
  }
> {
  // workerd reaches Postgres over TCP: a server (TEST_DATABASE_URL or the local one), no PGlite.
  const database = options.database ?? (await createTestDatabase({ needsServer: true }));
  const databaseUrl = database.url as string;
  const resend = await startFakeResend();
  // MAIL_TEMPLATES_DIR is the build's, not a binding: such a Worker is built for the test.
  const { MAIL_TEMPLATES_DIR: templatesDir, ...env } = options.env ?? {};
  const vars = testEnv({
    RESEND_API_KEY: "re_test_worker",
    RESEND_BASE_URL: resend.url,
    ...env,
  });
  const origin = new URL(options.hyperdriveUrl?.(databaseUrl) ?? databaseUrl);
  const hyperdrive = await startHyperdriveStandIn({
    target: { host: origin.hostname, port: Number(origin.port || 5432) },
    databaseUrl,
  });
  const binding = new URL(origin);
  binding.hostname = "127.0.0.1";
  binding.port = String(hyperdrive.port);
  const bundle = templatesDir ? await bundleWithTemplates(templatesDir) : inject("workerBundle");
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
    hyperdrives: { HYPERDRIVE: withPassword(binding.toString()) },
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
    await Promise.allSettled([
      worker.dispose(),
      resend.close(),
      database.drop(),
      hyperdrive.close(),
    ]);
    throw error;
  }

  const api = httpContractApi({
    base,
    database,
    resend,
    stop: async () => {
      await worker.dispose();
      await hyperdrive.close();
    },
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
    hyperdrive,
    resend,
    async close() {
      await api.close();
      const cacheable = hyperdrive.cacheableStatements();
      if (cacheable.length > 0) {
        throw new Error(
          `The Worker sent statements Hyperdrive's query cache may answer (stale):\n${cacheable.join("\n")}`,
        );
      }
    },
    async scheduled(cron) {
      return (await worker.getWorker()).scheduled({ cron });
    },
  };
}

const bundlesByTemplates = new Map<string, Promise<WorkerBundle>>();

/** The Worker built with MAIL_TEMPLATES_DIR=`dir`, once per test file and directory. */
function bundleWithTemplates(dir: string) {
  let bundle = bundlesByTemplates.get(dir);
  if (!bundle) {
    bundle = mkdtemp(join(tmpdir(), "worker-templates-")).then(async (outdir) => {
      process.once("exit", () => rmSync(outdir, { recursive: true, force: true }));
      return buildWorkerBundle(outdir, { MAIL_TEMPLATES_DIR: dir });
    });
    bundlesByTemplates.set(dir, bundle);
  }
  return bundle;
}

/** Miniflare refuses a Hyperdrive URL without a password, even for a server that asks none. */
function withPassword(url: string) {
  const u = new URL(url);
  if (!u.password) u.password = "unused";
  return u.toString();
}
