import { getTableColumns, type InferSelectModel, type Query, type SQL, sql } from "drizzle-orm";
import {
  type PgDatabase,
  PgDialect,
  type PgQueryResultHKT,
  type PgTable,
} from "drizzle-orm/pg-core";
import { DEADLINE_CODE } from "./postgres-deadline";
import type * as schema from "./schema";

/** Any Drizzle Postgres database over our schema: postgres.js on a server, PGlite embedded. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

const UNAVAILABLE_CODES = new Set([
  DEADLINE_CODE,
  // postgres.js connection errors
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  // Postgres: connection exceptions, server going down or refusing connections
  "08000",
  "08001",
  "08003",
  "08004",
  "08006",
  "53300",
  "57P01",
  "57P02",
  "57P03",
  // statement_timeout (STATEMENT_TIMEOUT_MS): the server stopped a statement that waited too long
  "57014",
]);

/** A driver error and its causes, outermost first: Drizzle wraps what the driver threw. */
function* causeChain(error: unknown) {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    yield e;
    e = (e as { cause?: unknown }).cause;
  }
}

/** Postgres error code of a driver error, looking through Drizzle's wrapping `cause` chain. */
export function pgErrorCode(error: unknown): string | undefined {
  for (const e of causeChain(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

export const isUniqueViolation = (error: unknown) => pgErrorCode(error) === "23505";

/**
 * postgres.js on Workers writes through the socket's WritableStream, and a query written on a
 * connection the database has just dropped fails with workerd's own TypeError instead of a
 * connection error code (seen in tests/worker/database-outage.test.ts, a server that accepts
 * connections and never answers, under load). The write did not reach the server, so nothing
 * was done: a 503 like any other lost connection.
 */
function isWriteOnClosedSocket(error: unknown) {
  for (const e of causeChain(error)) {
    if (e instanceof TypeError && e.message === "This WritableStream has been closed.") return true;
  }
  return false;
}

export const isDatabaseUnavailable = (error: unknown) => {
  const code = pgErrorCode(error);
  return (code !== undefined && UNAVAILABLE_CODES.has(code)) || isWriteOnClosedSocket(error);
};

/**
 * Runs a hand-written statement (for what the query builder cannot say, such as several writes
 * in one round trip) and returns its rows, whichever driver is underneath: postgres.js answers
 * with an array, PGlite with `{ rows }`. Columns keep their SQL names.
 */
export async function selectRows<T>(db: Database, query: SQL): Promise<T[]> {
  return rowsOf<T>(await db.execute(query));
}

const rowsOf = <T>(result: unknown) =>
  (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as T[];

/** Each field of T, or SQL standing for it (the values of a compiledStatement). */
export type OrSql<T> = { [K in keyof T]: T[K] | SQL };

const dialect = new PgDialect();

/**
 * A hand-written statement (as selectRows runs) compiled to text once, then run with only its
 * values: `build` writes it once with SQL standing for each value (`v.name`, the placeholder of
 * `values.name`), from the same helpers the statements built per call use. Times go in as ISO
 * text, as sqlTime sends them. For the login's statements, whose composed SQL costs Drizzle more
 * to compile than the statement costs to run (bench:w1 --login).
 */
export function compiledStatement<Row, Values extends Record<string, unknown>>(
  name: string,
  build: (v: { [K in keyof Values]: SQL }) => SQL,
): (db: Database, values: Values) => Promise<Row[]> {
  let query: Query | undefined;
  const placeholders = new Proxy({} as { [K in keyof Values]: SQL }, {
    get: (_, key) => sql`${sql.placeholder(String(key))}`,
  });
  const prepared = preparedPerDatabase((db) => {
    query ??= dialect.sqlToQuery(build(placeholders));
    return db._.session.prepareQuery(query, undefined, name, false);
  });
  return async (db, values) => rowsOf<Row>(await prepared(db).execute(values));
}

/**
 * A query built once per database handle by `build` (with sql.placeholder for its values, then
 * `.prepare(name)`), afterwards only run: on the hot paths (the bearer check, a login's
 * statements) building a query with Drizzle costs the event loop more than running it.
 */
export function preparedPerDatabase<Q>(build: (db: Database) => Q): (db: Database) => Q {
  const built = new WeakMap<Database, Q>();
  return (db) => {
    let query = built.get(db);
    if (!query) {
      query = build(db);
      built.set(db, query);
    }
    return query;
  };
}

/**
 * A table's columns for a hand-written statement (`alias."column", …`, every column of the
 * schema), and `read`, which turns a row of them as the driver returns it into what Drizzle's
 * select gives (property names, values through the columns' own decoders: timestamps to Date).
 * Worked out once per table: Drizzle maps each row of a select column by column through generic
 * checks, which on the bearer check cost more than the rest of the query's client side.
 */
export function tableRows<T extends PgTable>(table: T, alias: string) {
  const columns = Object.entries(getTableColumns(table)).map(([key, column]) => ({
    key,
    name: column.name,
    column,
  }));
  const list = sql.raw(columns.map(({ name }) => `${alias}."${name}"`).join(", "));
  const read = (row: Record<string, unknown>) => {
    const out: Record<string, unknown> = {};
    for (const { key, name, column } of columns) {
      const value = row[name];
      out[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
    }
    return out as InferSelectModel<T>;
  };
  return { list, read };
}

// Hand-written statements pass times as ISO text and read them back as epoch seconds
// (`extract(epoch from …)::float8`): Drizzle keeps timestamps as text in both drivers, and only its
// column mappings convert them.
export const sqlTime = (time: Date | SQL) =>
  sql`${time instanceof Date ? time.toISOString() : time}::timestamptz`;
export const fromEpoch = (seconds: number | null | undefined) =>
  seconds == null ? null : new Date(seconds * 1000);

/** Rows one prune statement deletes at most: each batch is a short transaction of its own. */
export const PRUNE_BATCH_SIZE = 1000;

/**
 * How long after a row stops mattering a prune still leaves it: room for requests in flight and
 * for clocks of instances that disagree a little.
 */
export const PRUNE_GRACE_SECONDS = 300;

/**
 * Runs `remove(limit)` (a DELETE of at most `limit` rows, without RETURNING) until a batch comes
 * back short or `signal` aborts, and returns how many rows went. Batches keep a large backlog from
 * holding many locks in one long transaction; removes pick their rows `for update skip locked`,
 * so they never wait for a request, and a row changed meanwhile is checked again before it goes.
 */
export async function deleteInBatches(
  db: Database,
  remove: (limit: number) => SQL,
  signal?: AbortSignal,
): Promise<number> {
  let total = 0;
  while (!signal?.aborted) {
    const [row] = await selectRows<{ n: number }>(
      db,
      sql`with gone as (${remove(PRUNE_BATCH_SIZE)} returning 1) select count(*)::int as n from gone`,
    );
    const deleted = row?.n ?? 0;
    total += deleted;
    if (deleted < PRUNE_BATCH_SIZE) break;
  }
  return total;
}

/**
 * deleteInBatches for rows of one table picked by `stale` (SQL over its columns) and found by
 * their `key` column: the shape every single-table prune shares.
 */
export function deleteStaleRows(
  db: Database,
  rows: { table: string; key: string; stale: SQL },
  signal?: AbortSignal,
): Promise<number> {
  const table = sql.identifier(rows.table);
  const key = sql.identifier(rows.key);
  return deleteInBatches(
    db,
    (limit) => sql`delete from ${table} where ${key} in (
        select ${key} from ${table}
        where ${rows.stale}
        limit ${limit} for update skip locked
      )`,
    signal,
  );
}

/** `time` moved `seconds` (and the prune grace) into the past, as SQL. */
export const pruneCutoff = (time: Date, seconds = 0) =>
  sqlTime(new Date(time.getTime() - (seconds + PRUNE_GRACE_SECONDS) * 1000));
