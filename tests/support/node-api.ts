import { createApp } from "../../src/app";
import { limitHashing } from "../../src/auth/hash-limiter";
import type { PasswordHasher } from "../../src/auth/password";
import { type Config, loadConfig } from "../../src/config";
import type { Deps } from "../../src/deps";
import type { Mailer } from "../../src/mail/mailer";
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
    clock,
    config,
    defer: (work) => {
      pending.push(work);
    },
    ping: database.ping,
  };
  const app = createApp(() => deps);

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
    /** Waits for background work (mail) the requests started. */
    settle: () => Promise.allSettled(pending.splice(0)),
    /** Messages sent to `address` once background work has finished. */
    async mailsTo(address: string) {
      await Promise.allSettled(pending.splice(0));
      return mails.to(address);
    },
    close: () => database.drop(),
  };
}

export type NodeTestApi = Awaited<ReturnType<typeof createTestApi>>;
