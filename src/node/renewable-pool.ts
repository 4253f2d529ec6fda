import type postgres from "postgres";

/** A postgres.js pool behind a stable handle, and the means to replace it. */
export type RenewablePool = {
  /** Always the current pool: every call is passed on to it. */
  client: postgres.Sql;
  /** Replaces the pool, unless a query started at `startedAt` went to an older one already. */
  renew(startedAt: number): void;
  close(): Promise<void>;
};

/**
 * A pool that starts afresh when a query on it misses the deadline, because postgres.js can wedge
 * for good in an outage: it pipelines further queries onto connections that went dead without
 * the OS knowing for many minutes (a partition that lost them, a server that failed over while new
 * connections reach its successor), and a connection whose first query was withdrawn while it
 * was connecting never leaves its "connecting" state. Without a fresh pool the service would not
 * recover until restarted. The old pool gets `retireMs` for the queries it still runs, then its
 * connections are dropped.
 */
export function renewablePool(open: () => postgres.Sql, retireMs: number): RenewablePool {
  let current = open();
  let openedAt = Date.now();
  const retiring = new Set<Promise<void>>();
  // Drizzle sets its type parsers on the client it is given, once: each new pool gets them too.
  const first = current;

  const client = new Proxy(current, {
    apply: (_target, thisArg, args) => Reflect.apply(current, thisArg, args),
    get(_target, prop) {
      const value = Reflect.get(current, prop, current);
      return typeof value === "function" ? value.bind(current) : value;
    },
  });

  return {
    client,
    renew(startedAt) {
      // A query started before this pool opened went to an older one, already replaced.
      if (startedAt < openedAt) return;
      const old = current;
      current = open();
      Object.assign(current.options.parsers, first.options.parsers);
      Object.assign(current.options.serializers, first.options.serializers);
      openedAt = Date.now();
      const ended = old.end({ timeout: retireMs / 1000 }).catch(() => {});
      retiring.add(ended);
      void ended.finally(() => retiring.delete(ended));
    },
    async close() {
      await Promise.all([current.end({ timeout: 5 }), ...retiring]);
    },
  };
}
