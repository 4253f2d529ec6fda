import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createApp } from "../../src/app";
import { limitHashing } from "../../src/auth/hash-limiter";
import type { PasswordHasher } from "../../src/auth/password";
import { type Config, loadConfig } from "../../src/config";
import type { Deps } from "../../src/deps";
import type { Mailer } from "../../src/mail/mailer";
import { nodeAssets } from "../../src/node/assets";
import { loadMailTemplates } from "../../src/node/mail-templates";
import { apiClient, checkedResponse } from "./api-client";
import { createTestDatabase, type TestDatabase } from "./database";
import { FastHasher, RecordingMailer, TestClock } from "./fakes";
import { testEnv } from "./test-env";

export { TEST_JWT_SECRET } from "./test-env";

export type TestApiOptions = {
  hasher?: PasswordHasher;
  mailer?: Mailer;
  env?: Record<string, string>;
  database?: TestDatabase;
};

/**
 * The app wired to a database of the test file's own, a hand-moved clock, a fast hasher and a
 * recording mailer unless told otherwise. Every response is checked: no 5xx but the deliberate 503.
 */
export async function createTestApi(options: TestApiOptions = {}) {
  const database = options.database ?? (await createTestDatabase());
  const clock = new TestClock();
  const mails = new RecordingMailer();
  const fastHasher = new FastHasher();
  const hasher = options.hasher ?? fastHasher;
  const pending: Promise<unknown>[] = [];
  const config: Config = loadConfig(testEnv(options.env)).config;
  const deps: Deps = {
    db: database.db,
    // Capped as the entries cap it; `hasher` stays the uncapped one the test can inspect.
    hasher: limitHashing(hasher, config),
    mailer: options.mailer ?? mails,
    mailTemplates: loadMailTemplates(config.mailTemplatesDir),
    clock,
    config,
    defer: (work) => {
      pending.push(work);
    },
    assets: nodeAssets(),
  };
  const app = createApp(() => deps);

  // Served over HTTP only when a test asks (a browser needs a real address).
  let server: ReturnType<typeof serve> | undefined;
  let listening: Promise<string> | undefined;
  const baseUrl = () => {
    listening ??= new Promise((resolve) => {
      server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info: AddressInfo) =>
        resolve(`http://127.0.0.1:${info.port}`),
      );
    });
    return listening;
  };

  const client = apiClient(
    async (path, init) => checkedResponse(path, await app.request(path, init)),
    database.db,
  );

  return {
    app,
    deps,
    db: database.db,
    database,
    clock,
    mails,
    hasher,
    fastHasher,
    ...client,
    unchecked: async (path: string, init?: RequestInit) => app.request(path, init),
    jwtSecret: config.jwtSecret,
    now: () => clock.now(),
    /** Waits for background work (mail) the requests started. */
    settle: () => Promise.allSettled(pending.splice(0)),
    /** Messages sent to `address` once background work has finished. */
    async mailsTo(address: string) {
      await Promise.allSettled(pending.splice(0));
      return mails.to(address);
    },
    baseUrl,
    async close() {
      if (server) await new Promise((resolve) => server?.close(resolve));
      // As the Node entry's shutdown does: background work (a mail and its /ready record) first.
      await Promise.allSettled(pending.splice(0));
      await database.drop();
    },
  };
}

export type NodeTestApi = Awaited<ReturnType<typeof createTestApi>>;
