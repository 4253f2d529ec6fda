import type postgres from "postgres";

/**
 * Longest a query or transaction may take before the request gets 503 (docs/api.md allows 5 s);
 * the same on Node and Workers.
 */
export const QUERY_DEADLINE_MS = 3500;

/**
 * The server's own limit on one statement (Postgres `statement_timeout`, sent as a start-up
 * parameter of every request connection), shorter than QUERY_DEADLINE_MS: most writes are one
 * statement outside any transaction, and a statement stuck behind a lock would otherwise commit
 * after the client had already answered 503. The server cancels it first (SQLSTATE 57014, a 503),
 * so a 503 means nothing was written. Migrations run on a connection of their own without it.
 */
export const STATEMENT_TIMEOUT_MS = 3000;

/** The `code` of the error a late query fails with; the error handler maps it to 503. */
export const DEADLINE_CODE = "DATABASE_DEADLINE";

const deadlineError = () =>
  Object.assign(new Error("The database did not answer in time."), { code: DEADLINE_CODE });

type Query = PromiseLike<unknown> & { values(): unknown; cancel(): unknown; state?: unknown };
type Client = postgres.Sql & Record<string, unknown>;

/**
 * A postgres.js client whose queries and transactions fail after `ms`. postgres.js has no query
 * timeout: on a silent network (a partition, a server that accepts and never answers) or behind
 * a queue of reconnect attempts a query would wait for ever, and docs/api.md promises a 503 within
 * 5 s. What a late query leaves behind is stopped where that is safe: a query not yet sent is
 * withdrawn, and a late transaction runs no further statement, so it rolls back. Every late query
 * or transaction is reported to `onLate` with the time it started: the pool may be wedged (see
 * src/node/renewable-pool.ts).
 */
export function withDeadline(
  client: postgres.Sql,
  ms: number,
  onLate: (startedAt: number) => void = () => {},
): postgres.Sql {
  return new Proxy(client as Client, {
    get(target, prop, receiver) {
      if (prop === "unsafe") {
        return (...args: unknown[]) => {
          const query = (target.unsafe as (...a: unknown[]) => Query)(...args);
          return lazily(query, () => {
            const startedAt = Date.now();
            return race(query, ms, () => {
              withdraw(query);
              onLate(startedAt);
            });
          });
        };
      }
      if (prop === "begin") {
        return (...args: unknown[]) => transaction(target, args, ms, onLate);
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

/** `work`, or a deadline error after `ms` (then `onLate` runs). */
function race<T>(work: PromiseLike<T>, ms: number, onLate = () => {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onLate();
      reject(deadlineError());
    }, ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** postgres.js runs a query when it is awaited; Drizzle calls `.values()` before that. */
function lazily(query: Query, run: () => Promise<unknown>) {
  let started: Promise<unknown> | undefined;
  const handle = {
    values() {
      query.values();
      return handle;
    },
    // biome-ignore lint/suspicious/noThenProperty: Drizzle awaits the query, so it must be a thenable.
    then(onValue?: (value: unknown) => unknown, onError?: (error: unknown) => unknown) {
      started ??= run();
      return started.then(onValue, onError);
    },
  };
  return handle;
}

/**
 * Withdraws a query still waiting for a connection. One already sent is left alone: a cancel
 * request names a backend, which may be running someone else's query by the time it arrives.
 */
function withdraw(query: Query) {
  if (!query.state) Promise.resolve(query.cancel()).catch(() => {});
}

function transaction(
  target: Client,
  args: unknown[],
  ms: number,
  onLate: (startedAt: number) => void,
) {
  const startedAt = Date.now();
  const body = args.pop() as (tx: postgres.TransactionSql) => unknown;
  let late = false;
  const guarded = (tx: postgres.TransactionSql) =>
    body(
      new Proxy(tx as postgres.TransactionSql & Record<string, unknown>, {
        get(inner, prop, receiver) {
          const value = Reflect.get(inner, prop, receiver);
          if (prop !== "unsafe" || typeof value !== "function") return value;
          return (...a: unknown[]) => {
            if (late) throw deadlineError();
            return value(...a);
          };
        },
      }),
    );
  const begin = target.begin as (...a: unknown[]) => PromiseLike<unknown>;
  return race(begin(...args, guarded), ms, () => {
    late = true;
    onLate(startedAt);
  });
}
