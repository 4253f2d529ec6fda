import type postgres from "postgres";

type Unsafe = (text: string, params?: unknown[], options?: object) => unknown;

/** Statement texts (never values: those are parameters) that run unprepared. */
const plannedPerCall = new Set<string>();

/**
 * Has `query` run unprepared, so Postgres plans it for each call's values. For a statement whose
 * best plan depends on them, the generic plan Postgres adopts for a prepared statement after
 * five runs fits some values and ruins others: a search for a rare fragment wants the trigram
 * index, yet its generic plan walked the primary key (bench/user-search.ts; figures in
 * bench/results/user-search.md).
 * The price is one more round trip (postgres.js describes an unnamed statement first) and the
 * planning on each call. Returns `query`.
 */
export function planPerCall<Q extends { toSQL(): { sql: string } }>(query: Q): Q {
  plannedPerCall.add(query.toSQL().sql);
  return query;
}

/**
 * A postgres.js client that runs every query as a prepared statement, kept per connection.
 * Drizzle asks for unnamed statements unless a query was built with `.prepare()`, and postgres.js
 * then describes each parameterized query before running it: two round trips instead of one,
 * and no pipelining. The app's queries are a small fixed set, so the statement cache stays small.
 * The exceptions are marked by `planPerCall`. `rewrite` maps each statement's text just before it
 * goes out (the Worker's marks reads that Hyperdrive must not cache: src/worker/uncached-reads.ts).
 */
export function preparedByDefault<T extends postgres.Sql | postgres.TransactionSql>(
  client: T,
  rewrite: (text: string) => string = (text) => text,
): T {
  return new Proxy(client as T & Record<string, unknown>, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "unsafe" && typeof value === "function") {
        return (text: string, params?: unknown[], options?: object) =>
          (value as Unsafe).call(target, rewrite(text), params, {
            ...options,
            prepare: !plannedPerCall.has(text),
          });
      }
      if (prop === "begin" && typeof value === "function") {
        return (...args: unknown[]) => {
          const body = args.pop() as (tx: postgres.TransactionSql) => unknown;
          return (value as (...a: unknown[]) => unknown).call(
            target,
            ...args,
            (tx: postgres.TransactionSql) => body(preparedByDefault(tx, rewrite)),
          );
        };
      }
      return value;
    },
  });
}
