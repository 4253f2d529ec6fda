import { and, desc, eq, lt, or, SQL, sql } from "drizzle-orm";
import { type Database, type OrSql, sqlTime } from "../db/database";
import { type AuditEntry, type auditActions, auditLog } from "../db/schema";

// The audit log (docs/api.md, the audit log under administration). Entries are written by the
// statement that makes the change they record (a CTE, see auditCte), or inside its transaction,
// so an entry exists exactly when its change does. Only names, ids and addresses go in.

export type AuditAction = (typeof auditActions)[number];

/**
 * A request's occasion: when it happens (the one time its statements use, read once) and from
 * where (client address, user agent), as its audit entries record it. Built by occasionOf
 * (src/http/occasion.ts); stores take it instead of a time and a source side by side.
 */
export type Occasion = { at: Date; ip: string; userAgent: string | null };

/** An account as an entry names it: its id and its username then, or SQL computing them. */
export type Party = { id: number | SQL; username: string | SQL };

export type AuditEvent = {
  action: AuditAction;
  /** Who acted; omitted when nobody is known to have (see src/db/schema.ts). */
  actor?: Party;
  /** The account acted on; omitted when none is known. */
  target?: Party;
  /** The names of the changed fields, never their values (or SQL computing the text[]). */
  fields?: readonly string[] | SQL;
  /** A short word saying why, or SQL computing it. */
  detail?: string | SQL;
};

const COLUMNS = sql.raw(
  "(at, action, actor_id, actor_username, target_id, target_username, ip, user_agent, fields, detail)",
);

const partyId = (party?: Party) =>
  party === undefined
    ? sql`null::int`
    : typeof party.id === "number"
      ? sql`${party.id}::int`
      : party.id;
const textValue = (value?: string | SQL) =>
  value === undefined ? sql`null::text` : typeof value === "string" ? sql`${value}::text` : value;

const textArray = (items: readonly string[] | SQL) =>
  items instanceof SQL
    ? items
    : items.length === 0
      ? sql`'{}'::text[]`
      : sql`array[${sql.join(
          items.map((item) => sql`${item}::text`),
          sql`, `,
        )}]`;

/** `select <the entry's values>`: the row `event` from `source` adds. */
function entryValues(event: AuditEvent, source: OrSql<Occasion>): SQL {
  return sql`select ${sqlTime(source.at)}, ${event.action}::audit_action,
    ${partyId(event.actor)}, ${textValue(event.actor?.username)},
    ${partyId(event.target)}, ${textValue(event.target?.username)},
    ${source.ip}::text, ${source.userAgent}::text, ${textArray(event.fields ?? [])},
    ${textValue(event.detail)}`;
}

/**
 * A CTE `name as (insert into audit_log …)` for a statement that records its own change: one row
 * for each row of `from` (e.g. sql`from changed`, whose columns the parties may name), none when
 * it has none.
 */
export function auditCte(name: string, event: AuditEvent, source: OrSql<Occasion>, from: SQL): SQL {
  return sql`${sql.raw(name)} as (${auditInsert(event, source, from)})`;
}

/** The insert auditCte wraps, for a query builder's own CTE (`db.$with(name, {}).as(…)`). */
export const auditInsert = (event: AuditEvent, source: OrSql<Occasion>, from: SQL = sql``) =>
  sql`insert into audit_log ${COLUMNS} ${entryValues(event, source)} ${from}`;

/** Adds one entry: inside the transaction of the change it records. */
export async function recordAudit(db: Database, event: AuditEvent, source: Occasion) {
  await db.execute(auditInsert(event, source));
}

/** What GET /api/audit narrows to. */
export type AuditFilters = { user?: string; action?: AuditAction };

/**
 * The entries that name `user` as actor or target: by id when it is a number; by the username an
 * entry stored (the name at the time, so a deleted account's entries are found too); and by the
 * id of the account that has that username now (so its entries from before a rename are too).
 */
function naming(user: string): SQL | undefined {
  const name = sql`lower(${user})`;
  const current = sql`(select id from users where lower(username) = ${name})`;
  const byId = /^\d{1,15}$/.test(user)
    ? [eq(auditLog.actorId, Number(user)), eq(auditLog.targetId, Number(user))]
    : [];
  return or(
    ...byId,
    eq(sql`lower(${auditLog.actorUsername})`, name),
    eq(sql`lower(${auditLog.targetUsername})`, name),
    eq(auditLog.actorId, current),
    eq(auditLog.targetId, current),
  );
}

/** A page of entries, newest first: `limit` entries older than `beforeId`, and whether more follow. */
export async function listAudit(
  db: Database,
  filters: AuditFilters,
  page: { beforeId?: number; limit: number },
): Promise<{ rows: AuditEntry[]; more: boolean }> {
  const rows = await db
    .select()
    .from(auditLog)
    .where(
      and(
        filters.user === undefined ? undefined : naming(filters.user),
        filters.action === undefined ? undefined : eq(auditLog.action, filters.action),
        page.beforeId === undefined ? undefined : lt(auditLog.id, page.beforeId),
      ),
    )
    .orderBy(desc(auditLog.id))
    .limit(page.limit + 1);
  return { rows: rows.slice(0, page.limit), more: rows.length > page.limit };
}

/** The public view of an entry. */
export function toPublicEntry(entry: AuditEntry) {
  const party = (id: number | null, username: string | null) =>
    id === null && username === null ? null : { id, username };
  return {
    id: entry.id,
    at: entry.at.toISOString(),
    action: entry.action,
    actor: party(entry.actorId, entry.actorUsername),
    target: party(entry.targetId, entry.targetUsername),
    ip: entry.ip,
    user_agent: entry.userAgent,
    fields: entry.fields,
    detail: entry.detail,
  };
}
