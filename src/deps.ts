import type { Context } from "hono";
import type { PasswordHasher } from "./auth/password";
import type { Config } from "./config";
import type { Database } from "./db/database";
import type { User } from "./db/schema";
import type { Mailer } from "./mail/mailer";
import type { MailTemplates } from "./mail/templates/template-set";

/** A source of the current time, injected so expiry can be tested without waiting. */
export type Clock = { now(): Date };

/** A static file served under /assets/. */
export type Asset = { body: Uint8Array<ArrayBuffer>; contentType: string; etag: string };

export const systemClock: Clock = { now: () => new Date() };

/** Everything the app needs from its runtime; built once on Node, per request on Workers. */
export type Deps = {
  db: Database;
  hasher: PasswordHasher;
  mailer: Mailer;
  /** The operator's mail templates over the built-in English ones; absent: the built-in alone. */
  mailTemplates?: MailTemplates;
  clock: Clock;
  config: Config;
  /** Runs work after the response (ctx.waitUntil on Workers); must never reject unhandled. */
  defer: (work: Promise<unknown>) => void;
  /** The peer address of the request: the socket on Node, CF-Connecting-IP on Workers. */
  remoteAddress?: (c: Context) => string | undefined;
  /** A header value as text, where the runtime's parser did not decode it as UTF-8 (Node). */
  headerText?: (value: string) => string;
  /** The files under /assets/ by name (Node); on Workers the platform serves them first. */
  assets?: (name: string) => Promise<Asset | undefined>;
};

export type AppEnv = {
  Variables: {
    deps: Deps;
    requestId: string;
    /** The client address used for rate limits (see src/abuse/client-ip.ts). */
    clientIp: string;
    currentUser: User;
    /** The session (claim `sid`) of the access token that authenticated the request, if any. */
    currentSessionId: string | undefined;
  };
};
