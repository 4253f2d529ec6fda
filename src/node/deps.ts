import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import { limitHashing } from "../auth/hash-limiter";
import type { Config } from "../config";
import { type Deps, systemClock } from "../deps";
import { logBackgroundFailure } from "../log/log-background";
import { mailerFor } from "../mail/from-config";
import { nodeArgon2 } from "./argon2";
import { nodeAssets } from "./assets";
import { type OpenDatabase, openDatabaseOrExit } from "./database";
import { headerTextOnNode } from "./header-text";
import { loadMailTemplatesOrExit } from "./mail-templates";

/** Background work on Node: nothing waits for it, but its failure is logged (redacted). */
export const deferOnNode: Deps["defer"] = (work) => {
  work.catch(logBackgroundFailure);
};

/** Background work that shutdown can wait for: each task as deferOnNode runs it. */
export function backgroundWork() {
  const pending = new Set<Promise<unknown>>();
  return {
    defer: ((work) => {
      deferOnNode(work);
      const tracked: Promise<unknown> = work.catch(() => {}).finally(() => pending.delete(tracked));
      pending.add(tracked);
    }) satisfies Deps["defer"],
    /** Resolves once no task is left, including tasks started meanwhile. */
    async settled() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}

/** The peer of the TCP connection (undefined when the app is called without a socket, in tests). */
export const socketAddress = (c: Context) =>
  c.env?.incoming ? getConnInfo(c).remote.address : undefined;

/** The app's dependencies on Node, built once for the process. */
export async function createNodeDeps(
  config: Config,
): Promise<{ deps: Deps; database: OpenDatabase; background: ReturnType<typeof backgroundWork> }> {
  // A typo in a template stops the start, before the database is opened.
  const mailTemplates = loadMailTemplatesOrExit(config.mailTemplatesDir);
  const database = await openDatabaseOrExit(config);
  const background = backgroundWork();
  const deps: Deps = {
    db: database.db,
    hasher: limitHashing(nodeArgon2, config),
    mailer: mailerFor(config),
    mailTemplates,
    clock: systemClock,
    config,
    defer: background.defer,
    remoteAddress: socketAddress,
    headerText: headerTextOnNode,
    assets: nodeAssets(),
  };
  return { deps, database, background };
}
