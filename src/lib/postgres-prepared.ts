import type postgres from "postgres";

type Unsafe = (text: string, params?: unknown[], options?: object) => unknown;

/**
 * A postgres.js client that runs every query as a prepared statement, kept per connection.
 * Drizzle asks for unnamed statements unless a query was built with `.prepare()`, and postgres.js
 * then describes each parameterized query before running it: two round trips instead of one,
 * and no pipelining. The app's queries are a small fixed set, so the statement cache stays small.
 */
export function preparedByDefault<T extends postgres.Sql | postgres.TransactionSql>(client: T): T {
  return new Proxy(client as T & Record<string, unknown>, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "unsafe" && typeof value === "function") {
        return (text: string, params?: unknown[], options?: object) =>
          (value as Unsafe).call(target, text, params, { ...options, prepare: true });
      }
      if (prop === "begin" && typeof value === "function") {
        return (...args: unknown[]) => {
          const body = args.pop() as (tx: postgres.TransactionSql) => unknown;
          return (value as (...a: unknown[]) => unknown).call(
            target,
            ...args,
            (tx: postgres.TransactionSql) => body(preparedByDefault(tx)),
          );
        };
      }
      return value;
    },
  });
}
