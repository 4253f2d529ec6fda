import type { Database } from "../../src/db/database";
import type { MailMessage } from "../../src/mail/mailer";
import type { apiClient } from "./api-client";
import { createTestDatabase, type TestDatabase } from "./database";
import { createTestApi } from "./node-api";

/**
 * What a contract test may use: HTTP requests to the API and direct access to its database.
 * The same tests run against every runtime (TEST_TARGET=node, the default: the app in-process;
 * node-http: the Node server as `npm start` runs it; worker: the Worker in workerd), so nothing
 * here reaches into a process: time travel is done in the database, tokens are forged with the
 * known test secret.
 */
export type ContractApi = ReturnType<typeof apiClient> & {
  /** A request whose response is not checked (a fuzzer judges 5xx answers itself). */
  unchecked(path: string, init?: RequestInit): Promise<Response>;
  mailsTo(address: string): Promise<MailMessage[]>;
  db: Database;
  jwtSecret: string;
  /**
   * The server's time: the hand-moved clock in-process, the system clock of the server process or
   * workerd elsewhere (second factors compute codes for it).
   */
  now(): Date;
  /** The API's address over real HTTP (on Node, served from the first call on), for a browser. */
  baseUrl(): Promise<string>;
  close(): Promise<void>;
};

/** The keys of the contract's public user body, sorted: never a hash or a token version. */
export const PUBLIC_USER_KEYS = [
  "active",
  "created_at",
  "email",
  "email_verified",
  "first_name",
  "id",
  "last_name",
  "mfa_enabled",
  "role",
  "updated_at",
  "username",
];

export type StartOptions = {
  env?: Record<string, string>;
  /** A database server even in-process (PGlite has one connection: nothing can wait on a lock). */
  needsServer?: boolean;
  /**
   * A database of the caller's (createTestDatabase({ needsServer: true }), which every target
   * reaches) instead of one of the API's own; its close() then leaves the database to the caller.
   */
  database?: TestDatabase;
};

/** Starts the API under test on the runtime named by TEST_TARGET. */
export async function startApi(options: StartOptions = {}): Promise<ContractApi> {
  if (options.database)
    options = { ...options, database: { ...options.database, drop: async () => {} } };
  const target = process.env.TEST_TARGET ?? "node";
  if (target === "node") {
    const database =
      options.database ??
      (options.needsServer ? await createTestDatabase({ needsServer: true }) : undefined);
    return createTestApi({ ...options, database });
  }
  if (target === "node-http") return (await import("./node-http-api")).createNodeHttpApi(options);
  // Loaded only here: the Node target never pays for importing wrangler.
  if (target === "worker") return (await import("./worker-api")).createWorkerApi(options);
  throw new Error(`Unknown TEST_TARGET=${target}`);
}
