import type { ExecutionContext } from "@cloudflare/workers-types/latest/index.ts";
import bundledTemplateFiles from "bundled-mail-templates";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { limitHashing } from "../auth/hash-limiter";
import type { PasswordHasher } from "../auth/password";
import type { Config } from "../config";
import { QUERY_DEADLINE_MS, withDeadline } from "../db/postgres-deadline";
import { preparedByDefault } from "../db/postgres-prepared";
import * as schema from "../db/schema";
import { type Deps, systemClock } from "../deps";
import { logBackgroundFailure } from "../log/log-background";
import { mailerFor } from "../mail/from-config";
import { compileTemplates, type MailTemplates } from "../mail/templates/template-set";
import { wasmArgon2 } from "./argon2";
import { uncachedByHyperdrive } from "./uncached-reads";

// argon2 runs inside the isolate, so its cap is per isolate: one capped hasher per config,
// which workerConfig already keeps per isolate.
const cappedHashers = new WeakMap<Config, PasswordHasher>();
const hasherFor = (config: Config) => {
  let hasher = cappedHashers.get(config);
  if (!hasher) {
    hasher = limitHashing(wasmArgon2, config);
    cappedHashers.set(config, hasher);
  }
  return hasher;
};

// Checked when the Worker was built; compiled once per isolate, on the first request.
let bundledTemplates: MailTemplates | undefined;
const mailTemplates = () =>
  (bundledTemplates ??= compileTemplates(bundledTemplateFiles, "MAIL_TEMPLATES_DIR (bundled)"));

/** One request's dependencies and the means to release them once the response is out. */
export type RequestScope = { deps: Deps; close(): Promise<void> };

/**
 * A postgres.js client per request: Workers may not share sockets between requests, and Hyperdrive
 * keeps the real connections pooled, so opening one is cheap.
 */
export function openRequestScope(
  config: Config,
  connectionString: string,
  ctx: ExecutionContext,
): RequestScope {
  const client = postgres(connectionString, {
    // Workers allow 6 simultaneous outgoing connections per request.
    max: 5,
    // No custom types to look up (Drizzle parses audit_log.fields, the one array column, itself):
    // saves a round trip per client.
    fetch_types: false,
    // With the query deadline below, an unreachable database is a 503 within 5 s (docs/api.md).
    connect_timeout: 3,
    onnotice: () => {},
  });
  const bounded = withDeadline(preparedByDefault(client, uncachedByHyperdrive), QUERY_DEADLINE_MS);
  const background: Promise<unknown>[] = [];
  const deps: Deps = {
    db: drizzle(bounded, { schema }),
    hasher: hasherFor(config),
    mailer: mailerFor(config),
    mailTemplates: mailTemplates(),
    clock: systemClock,
    config,
    defer(work) {
      const guarded = work.catch(logBackgroundFailure);
      background.push(guarded);
      ctx.waitUntil(guarded);
    },
    // Set by Cloudflare's edge for every request; a client cannot supply its own.
    remoteAddress: (c) => c.req.header("cf-connecting-ip"),
  };
  return {
    deps,
    async close() {
      // Background work may still be using the client.
      await Promise.allSettled(background);
      await client.end({ timeout: 2 }).catch(() => {});
    },
  };
}
