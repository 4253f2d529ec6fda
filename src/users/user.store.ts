import {
  and,
  asc,
  count,
  eq,
  getTableColumns,
  gt,
  or,
  type SQL,
  type SQLWrapper,
  sql,
} from "drizzle-orm";
import { auditCte, auditInsert, type Occasion, type Party } from "../audit/audit.store";
import { type Database, isUniqueViolation, selectRows, sqlTime } from "../db/database";
import { planPerCall } from "../db/postgres-prepared";
import { type NewUser, type User, users } from "../db/schema";
import { type EmailTokenIssue, emailTokenIssue } from "../email/email-token.store";

// Everything the app does to accounts. Names and emails are matched through the same
// lower(...) expressions as the unique indexes, so every lookup is indexed and case-insensitive.

export const usernameIs = (username: string | SQLWrapper) =>
  eq(sql`lower(${users.username})`, sql`lower(${username})`);
export const emailIs = (email: string | SQLWrapper) =>
  eq(sql`lower(${users.email})`, sql`lower(${email})`);

export async function findByUsername(db: Database, username: string): Promise<User | undefined> {
  const [row] = await db.select().from(users).where(usernameIs(username)).limit(1);
  return row;
}

export async function findById(db: Database, id: number): Promise<User | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return row;
}

export async function findByEmail(db: Database, email: string): Promise<User | undefined> {
  const [row] = await db.select().from(users).where(emailIs(email)).limit(1);
  return row;
}

export async function usernameOrEmailTaken(db: Database, username: string, email: string) {
  const rows = await db
    .select({ id: users.id })
    .from(users)
    .where(or(usernameIs(username), emailIs(email)))
    .limit(1);
  return rows.length > 0;
}

/**
 * Creates the account with its user.registered entry, or reports "taken" when its username or
 * email is (any letter case). `detail` says how it came when not by registering (db:seed-admin);
 * with `verification`, the same statement issues its first verification link (and records
 * email.verification_sent), so registering costs no extra round trip.
 */
export async function insertUser(
  db: Database,
  user: NewUser,
  source: Occasion,
  options: { detail?: string; verification?: EmailTokenIssue } = {},
): Promise<"created" | "taken"> {
  const account = { id: sql`id`, username: sql`username` };
  const registered = {
    action: "user.registered",
    actor: account,
    target: account,
    detail: options.detail,
  } as const;
  const sent = {
    action: "email.verification_sent",
    actor: account,
    target: account,
    detail: "registration",
  } as const;
  const verification = options.verification
    ? sql`, ${emailTokenIssue("issued", options.verification, source.at, sql`from created`)},
      ${auditCte("sent", sent, source, sql`from created`)}`
    : sql``;
  // The unique indexes decide concurrent registrations: exactly one insert gets a row back.
  const rows = await selectRows<{ id: number }>(
    db,
    sql`with created as (
        insert into users (username, email, first_name, last_name, password_hash, role,
          email_verified, mail_language, created_at, updated_at)
        values (${user.username}, ${user.email}, ${user.firstName}, ${user.lastName},
          ${user.passwordHash}, ${user.role ?? "USER"}::role, ${user.emailVerified ?? false},
          ${user.mailLanguage ?? null}::text, ${sqlTime(user.createdAt)}, ${sqlTime(user.updatedAt)})
        on conflict do nothing
        returning id, username, email
      ), ${auditCte("logged", registered, source, sql`from created`)}${verification}
      select id from created`,
  );
  return rows.length > 0 ? "created" : "taken";
}

/** What an update may change; `undefined` leaves a column as it is. */
export type AccountChanges = Partial<
  Pick<User, "username" | "email" | "firstName" | "lastName" | "role" | "active" | "passwordHash">
>;

/** The API's names of the fields `changes` sets to a new value (a password always counts). */
export function changedFields(before: User, changes: AccountChanges): string[] {
  const names = {
    username: "username",
    email: "email",
    firstName: "first_name",
    lastName: "last_name",
    role: "role",
    active: "active",
  } as const;
  const fields = Object.entries(names)
    .filter(([key]) => {
      const value = changes[key as keyof typeof names];
      return value !== undefined && value !== before[key as keyof typeof names];
    })
    .map(([, name]) => name);
  return changes.passwordHash === undefined ? fields : [...fields, "password"];
}

/** What updateAccount says when it changed nothing. */
export type RefusedUpdate = "missing" | "forbidden" | "last_admin" | "taken";

/** How each changeable field is written: its column, its parameter's type, whether it revokes. */
const CHANGEABLE = {
  username: { column: "username", type: "text", revokes: true },
  email: { column: "email", type: "text", revokes: false },
  firstName: { column: "first_name", type: "text", revokes: false },
  lastName: { column: "last_name", type: "text", revokes: false },
  role: { column: "role", type: "role", revokes: true },
  active: { column: "active", type: "boolean", revokes: true },
} as const satisfies Record<keyof Omit<AccountChanges, "passwordHash">, unknown>;

type Changeable = keyof typeof CHANGEABLE;

/** An account row as a hand-written statement returns it (SQL column names), mapped as Drizzle does. */
export function userFromRow(row: Record<string, unknown>): User {
  const user: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(users))) {
    const value = row[column.name];
    user[key] = value === null || value === undefined ? value : column.mapFromDriverValue(value);
  }
  return user as User;
}

/**
 * Updates one account with its user.updated entry (the names of the fields that changed), in one
 * statement, whose parts are built here in order:
 * - `admins` (with `guardLastAdmin`): every active ADMIN locked in id order, first. Two admins
 *   demoting themselves at once queue on the same first row instead of deadlocking (40P01), and
 *   the one that waited sees the other's change (Postgres re-reads a row it waited for), so they
 *   cannot both leave.
 * - `target`: the account, locked; `verdict`: it with what may be done ("ok", "forbidden" for an
 *   ADMIN other than the actor, "last_admin" when no other active ADMIN would remain).
 * - `changed`: the update, only on "ok". Changes to what an access token asserts (password, role,
 *   activity, username) bump the token version, which revokes the account's tokens. It returns
 *   the new row with `before_username`, `before_email` and `changed_fields`.
 * - then what follows from the change, each reading `changed`: `voided` (a new password or
 *   mailbox voids pending reset links) and `logged` (the audit entry); `effects` adds more CTEs
 *   (`name as (…)`) of the same kind.
 * The password is hashed before; a username or email taken is the unique indexes' 23505: "taken".
 */
export async function updateAccount(
  db: Database,
  username: string,
  changes: AccountChanges,
  options: {
    guardLastAdmin: boolean;
    actor: Party & { id: number };
    occasion: Occasion;
    effects?: SQL[];
    /** The link mailed when the email changes (not just its letter case): it is then unverified. */
    verification?: EmailTokenIssue;
  },
): Promise<(User & { linkIssued: boolean }) | RefusedUpdate> {
  const given = (Object.keys(CHANGEABLE) as Changeable[]).filter(
    (key) => changes[key] !== undefined,
  );
  const column = (key: Changeable) => sql.raw(CHANGEABLE[key].column);
  const value = (key: Changeable) => sql`${changes[key]}::${sql.raw(CHANGEABLE[key].type)}`;
  const newPassword = changes.passwordHash !== undefined;
  // Judged against the locked row (v): a change of what an access token asserts.
  const revokes = sql.join(
    [
      sql`${newPassword}::boolean`,
      ...given
        .filter((key) => CHANGEABLE[key].revokes)
        .map((key) => sql`v.${column(key)} is distinct from ${value(key)}`),
    ],
    sql` or `,
  );
  const assignments = [
    ...given.map((key) => sql`${column(key)} = ${value(key)}`),
    ...(newPassword ? [sql`password_hash = ${changes.passwordHash}::text`] : []),
    sql`token_version = u.token_version + case when ${revokes} then 1 else 0 end`,
    // A new mailbox is unproven; a change of letter case alone is the same mailbox.
    ...(changes.email !== undefined
      ? [sql`email_verified = u.email_verified and lower(v.email) = lower(${changes.email}::text)`]
      : []),
    sql`updated_at = ${sqlTime(options.occasion.at)}`,
  ];
  // The API's names of the fields whose value changed, in changedFields' order.
  const fieldNames = [
    ...given.map(
      (key) =>
        sql`case when u.${column(key)} is distinct from v.${column(key)} then ${CHANGEABLE[key].column}::text end`,
    ),
    ...(newPassword ? [sql`'password'::text`] : []),
  ];
  const changedFields = sql`array_remove(array[${sql.join(fieldNames, sql`, `)}]::text[], null)`;
  const guard = options.guardLastAdmin;
  const link = changes.email === undefined ? undefined : options.verification;
  const entry = {
    action: "user.updated",
    actor: options.actor,
    target: { id: sql`id`, username: sql`before_username` },
    fields: sql`changed_fields`,
  } as const;
  const ctes = [
    ...(guard
      ? [
          sql`admins as (select id from users where role = 'ADMIN' and active order by id for update)`,
        ]
      : []),
    // With the guard, the condition on admins has them locked before the target.
    sql`target as (
        select * from users where ${usernameIs(username)}
          ${guard ? sql`and (select count(*) from admins) >= 0` : sql``}
        for update
      )`,
    sql`verdict as (
        select t.*, case
          when t.role = 'ADMIN' and t.id <> ${options.actor.id}::int then 'forbidden'
          ${guard ? sql`when not exists (select 1 from admins a where a.id <> t.id) then 'last_admin'` : sql``}
          else 'ok' end as verdict
        from target t
      )`,
    sql`changed as (
        update users u set ${sql.join(assignments, sql`, `)}
        from verdict v where u.id = v.id and v.verdict = 'ok'
        returning u.*, v.username as before_username, v.email as before_email,
          ${changedFields} as changed_fields
      )`,
    sql`voided as (
        delete from password_reset_tokens where user_id in (
          select id from changed where ${newPassword}::boolean or email is distinct from before_email
        )
      )`,
    auditCte("logged", entry, options.occasion, sql`from changed`),
    ...(link ? emailLinkEffects(link, options.actor, options.occasion) : []),
    ...(options.effects ?? []),
  ];
  try {
    const [row] = await selectRows<Record<string, unknown> & { verdict: string }>(
      db,
      sql`with ${sql.join(ctes, sql`, `)}
        select v.verdict, c.*, ${link ? sql`exists (select 1 from email_link)` : sql`false`} as link_issued
        from verdict v left join changed c on true`,
    );
    if (!row) return "missing";
    if (row.verdict !== "ok") return row.verdict as RefusedUpdate;
    return { ...userFromRow(row), linkIssued: row.link_issued === true };
  } catch (error) {
    if (isUniqueViolation(error)) return "taken";
    throw error;
  }
}

/**
 * The CTEs of an update that moved the account's mailbox (`moved`): the account's pending links
 * die (a change link; the verification link is replaced), a verification link goes to the new
 * address (`email_link`), with its email.verification_sent entry by the actor.
 */
function emailLinkEffects(link: EmailTokenIssue, actor: Party, occasion: Occasion): SQL[] {
  const sent = {
    action: "email.verification_sent",
    actor,
    target: { id: sql`id`, username: sql`username` },
    detail: "admin_update",
  } as const;
  return [
    sql`moved as (
        select id, username, email from changed where lower(email) <> lower(before_email)
      )`,
    sql`links_voided as (
        delete from email_verification_tokens
        where user_id in (select id from moved) and purpose <> ${link.purpose}::email_token_purpose
      )`,
    emailTokenIssue("email_link", link, occasion.at, sql`from moved`),
    auditCte("link_logged", sent, occasion, sql`from moved`),
  ];
}

/**
 * Deletes a USER account (never an ADMIN), with its user.deleted entry, in one statement; its
 * sessions and reset tokens go with it (cascade).
 */
export async function deleteUserAccount(
  db: Database,
  id: number,
  audit: { actor: Party; occasion: Occasion },
) {
  const target = { id: sql`id`, username: sql`username` };
  const deleted = { action: "user.deleted", actor: audit.actor, target } as const;
  const rows = await selectRows<{ id: number }>(
    db,
    sql`with deleted as (
        delete from users where id = ${id} and role = 'USER' returning id, username
      ), ${auditCte("logged", deleted, audit.occasion, sql`from deleted`)}
      select id from deleted`,
  );
  return rows.length > 0;
}

/** What the admin listing narrows to; every part optional. */
export type UserFilters = {
  q?: string;
  role?: User["role"];
  active?: boolean;
  verified?: boolean;
};

/** `text` as a LIKE pattern matching it literally anywhere: its `\\`, `%` and `_` escaped. */
const containing = (text: string) => `%${text.replace(/[\\%_]/g, "\\$&")}%`;

/**
 * The rows matching `filters`. The search is one LIKE on the lower-cased `search_text`, with the
 * pattern lower-cased by the same function: the form its trigram index serves.
 */
function matching({ q, role, active, verified }: UserFilters): SQL | undefined {
  return and(
    q === undefined ? undefined : sql`${users.searchText} like lower(${containing(q)}) escape '\\'`,
    role === undefined ? undefined : eq(users.role, role),
    active === undefined ? undefined : eq(users.active, active),
    verified === undefined ? undefined : eq(users.emailVerified, verified),
  );
}

/** A page of accounts in id order: `limit` rows after `afterId`, and whether more follow. */
export type UserPage = { rows: User[]; more: boolean; total: number };

/**
 * The page query, exported for the measurement in bench/user-search.ts: up to `limit + 1` rows
 * after `afterId` (the extra one says whether another page follows), each carrying the count of
 * every row that matches, which Postgres computes once (an uncorrelated subquery).
 */
export function userPageQuery(
  db: Database,
  filters: UserFilters,
  page: { afterId?: number; limit: number },
) {
  const where = matching(filters);
  // Planned for each search's own fragment: a rare one wants the trigram index, a common one
  // a sequential scan, and no single (generic) plan suits both.
  return planPerCall(
    db
      .select({ user: users, total: db.$count(users, where) })
      .from(users)
      .where(and(where, page.afterId === undefined ? undefined : gt(users.id, page.afterId)))
      .orderBy(asc(users.id))
      .limit(page.limit + 1),
  );
}

/**
 * One page of the accounts matching `filters` and how many match in all, in one statement; a
 * second one only counts when a page after a cursor comes back empty (its rows were deleted).
 * Keyset pagination (id > the last one seen) never repeats or skips a row, whatever is
 * inserted or deleted between pages.
 */
export async function listUsers(
  db: Database,
  filters: UserFilters,
  page: { afterId?: number; limit: number },
): Promise<UserPage> {
  const rows = await userPageQuery(db, filters, page);
  let total = rows[0]?.total;
  if (total === undefined && page.afterId === undefined) total = 0;
  if (total === undefined) {
    const query = db.select({ n: count() }).from(users).where(matching(filters));
    total = (await planPerCall(query))[0]?.n ?? 0;
  }
  return {
    rows: rows.slice(0, page.limit).map((row) => row.user),
    more: rows.length > page.limit,
    total,
  };
}

/**
 * Changes the caller's own names, with its user.updated entry, in one statement, provided its
 * token still holds at the moment of the write (the account is active and its token version
 * unchanged); undefined when it no longer does.
 */
export async function updateOwnNames(
  db: Database,
  me: User,
  names: Pick<AccountChanges, "firstName" | "lastName">,
  occasion: Occasion,
): Promise<User | undefined> {
  const now = occasion.at;
  const changed = db.$with("changed").as(
    db
      .update(users)
      .set({ ...names, updatedAt: now })
      .where(
        and(eq(users.id, me.id), eq(users.active, true), eq(users.tokenVersion, me.tokenVersion)),
      )
      .returning(),
  );
  const entry = {
    action: "user.updated",
    actor: me,
    target: me,
    fields: changedFields(me, names),
  } as const;
  const logged = db.$with("logged", {}).as(auditInsert(entry, occasion, sql`from changed`));
  const [row] = await db.with(changed, logged).select().from(changed);
  return row;
}

/** The prefix of the accounts scripts/seed-users.ts makes: `seed_u<n>`, `seed_u<n>@example.org`. */
export const SEED_PREFIX = "seed_u";

/** The highest <n> among the seeded accounts, 0 when there are none. */
export async function lastSeedNumber(db: Database): Promise<number> {
  const [row] = await selectRows<{ n: number }>(
    db,
    sql`select coalesce(max(substring(username from ${`^${SEED_PREFIX}([0-9]+)$`})::int), 0) as n
      from users where starts_with(username, ${SEED_PREFIX})`,
  );
  return row?.n ?? 0;
}

/**
 * Inserts the seeded USER accounts numbered `from`..`to` in one statement (generate_series), all
 * with one password hash, their names taken in turn from the lists given, every tenth inactive.
 */
export async function insertSeedUsers(
  db: Database,
  seed: { from: number; to: number; passwordHash: string; names: [string[], string[]]; now: Date },
) {
  const [first, last] = seed.names;
  const list = (names: string[]) =>
    sql`array[${sql.join(
      names.map((n) => sql`${n}::text`),
      sql`, `,
    )}]`;
  // The n-th first name with the (n / first names)-th last name: every pair, spread out.
  const firstName = sql`(${list(first)})[1 + g % ${first.length}::int]`;
  const lastName = sql`(${list(last)})[1 + (g / ${first.length}::int) % ${last.length}::int]`;
  const now = sqlTime(seed.now);
  await db.execute(sql`
    insert into users (username, email, first_name, last_name, password_hash, active, created_at, updated_at)
    select ${SEED_PREFIX} || g, ${SEED_PREFIX} || g || '@example.org', ${firstName}, ${lastName},
      ${seed.passwordHash}, g % 10 <> 0, ${now}, ${now}
    from generate_series(${seed.from}::int, ${seed.to}::int) as g
    on conflict do nothing`);
}

/**
 * After a bulk insert: refreshes the planner's statistics and merges the trigram indexes' pending
 * entries, which every search would otherwise read through until autovacuum came by.
 */
export async function vacuumUsers(db: Database) {
  await db.execute(sql`vacuum analyze users`);
}

/** The public view of an account: never the hash or the token version. */
export function toPublicUser(user: User) {
  return {
    id: user.id,
    username: user.username,
    first_name: user.firstName,
    last_name: user.lastName,
    email: user.email,
    role: user.role,
    active: user.active,
    email_verified: user.emailVerified,
    mfa_enabled: user.mfaEnabled,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}
