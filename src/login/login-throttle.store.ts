import { eq, type SQL, type SQLWrapper, sql } from "drizzle-orm";
import { type AuditEvent, auditCte, type Occasion, type Party } from "../audit/audit.store";
import type { Config } from "../config";
import {
  compiledStatement,
  type Database,
  deleteStaleRows,
  fromEpoch,
  type OrSql,
  preparedPerDatabase,
  pruneCutoff,
  selectRows,
  sqlTime,
} from "../db/database";
import { loginThrottles, users } from "../db/schema";
import { type NewSession, sessionStart } from "../sessions/session.store";
import { emailIs, usernameIs } from "../users/user.store";

// The lockout: consecutive failed password checks per login name, held across Node instances and
// Worker isolates, and the statements that settle a check under it. A login costs three round
// trips: the rate-limit hit, readLogin, and recordSuccess or recordFailure.

const MAX_LOCKOUT_SECONDS = 15 * 60;
/** Failures further apart than this no longer count as consecutive. */
const FAILURE_MEMORY_SECONDS = 24 * 60 * 60;

/**
 * The throttle key of a login name (username or email), for real and unknown names alike: the
 * name through the same lower() as the account lookup (usernameIs, emailIs), computed by the
 * database, so every spelling that finds an account shares its counter. JavaScript's
 * toLowerCase() is not that function ('İ' becomes 'i̇' there, 'i' in Postgres, and lower() follows
 * the database's locale), and each 'i' in a name would double its guesses per lockout. Keying
 * real accounts by id would leak which email belongs to which username (fail on the username,
 * then see which email is already locked); the price is that the two are throttled separately.
 */
export const throttleKey = (login: string | SQLWrapper) => sql<string>`'login:' || lower(${login})`;

const secondsUntil = (lockedUntil: Date | null | undefined, now: Date) =>
  lockedUntil && lockedUntil > now ? (lockedUntil.getTime() - now.getTime()) / 1000 : 0;

export type LockRow = { locked_until: number | null };

/**
 * What a login needs before checking the password, in one statement: how long its name is still
 * locked for, and the account (a username or, with '@', an email). It also makes sure the name's
 * throttle row exists, so that concurrent failures all find a row to lock and none is lost.
 */
export async function readLogin(db: Database, login: string, now: Date) {
  const query = login.includes("@") ? readLoginByEmail(db) : readLoginByUsername(db);
  const [row] = await query.execute({ login, now });
  return { lockedForSeconds: secondsUntil(row?.lockedUntil, now), user: row?.user ?? undefined };
}

/** readLogin's statement for a login name that `finds` an account by, built once per database. */
const readLoginBy = (finds: typeof usernameIs, name: string) =>
  preparedPerDatabase((db) => {
    const login = sql.placeholder("login");
    const key = throttleKey(login);
    const ensured = db.$with("ensured").as(
      db
        .insert(loginThrottles)
        .values({ key, failures: 0, updatedAt: sql.placeholder("now") })
        .onConflictDoNothing()
        .returning({ key: loginThrottles.key }),
    );
    return db
      .with(ensured)
      .select({ lockedUntil: loginThrottles.lockedUntil, user: users })
      .from(sql`(select 1) as probe`)
      .leftJoin(loginThrottles, eq(loginThrottles.key, key))
      .leftJoin(users, finds(login))
      .limit(1)
      .prepare(name);
  });
const readLoginByUsername = readLoginBy(usernameIs, "read_login_by_username");
const readLoginByEmail = readLoginBy(emailIs, "read_login_by_email");

/**
 * The CTEs verifiedPasswordGate defines, by name, for the statements built on it: `prior` (the
 * lock the name had) and `allowed` (a row when that lock has ended, or there was none).
 */
export const passwordGate = { prior: sql.raw("prior"), allowed: sql.raw("allowed") } as const;

/**
 * The CTEs that settle a verified password under its login name's row lock: passwordGate.prior,
 * passwordGate.allowed and `cleared` (the name's failures, deleted when allowed). Guesses sent at
 * once all pass readLogin while argon2 runs; concurrent failures may have locked the name
 * meanwhile, and then the right password's answer is withheld too: what the statement does on
 * success it gates on passwordGate.allowed.
 */
export function verifiedPasswordGate(login: string | SQLWrapper, now: Date | SQL): SQL {
  const key = throttleKey(login);
  const { prior, allowed } = passwordGate;
  return sql`${prior} as (
      select locked_until from login_throttles where key = ${key} for update
    ), ${allowed} as (
      select 1 where not exists (select 1 from ${prior} where locked_until > ${sqlTime(now)})
    ), cleared as (
      delete from login_throttles where key = ${key} and exists (select 1 from ${allowed})
    )`;
}

/** The end of the lock passwordGate.prior held, as the statements here return it (epoch seconds). */
export const priorLock = sql`extract(epoch from (select locked_until from ${passwordGate.prior}))::float8 as locked_until`;

/** The seconds the lock a statement found still lasts, else 0. */
export const lockedSeconds = (row: LockRow | undefined, now: Date) =>
  secondsUntil(fromEpoch(row?.locked_until), now);

/** The entry of a login (or password check) the lockout refuses. */
export const lockedOutEntry = (target?: Party) =>
  ({ action: "login.throttled", target, detail: "lockout" }) as const;

/** What a login's entry in the audit log says besides its outcome. */
export type LoginAudit = {
  occasion: Occasion;
  /** The account the login name found, when it found one. */
  account?: Party;
  /** What a failure is recorded as, when not a wrong password (login.failed): a wrong code. */
  failure?: { action: "login.mfa_failed"; detail: string };
};

/**
 * Records a successful login in one statement: under the name's row lock (verifiedPasswordGate)
 * it clears the failures and starts `session` (with its first refresh token), with its audit
 * entry. Without a session (a deactivated account, or an unverified one under
 * REQUIRE_VERIFIED_EMAIL: `audit.refused` says which) the entry is a login.failed. When concurrent
 * failures locked the name while the password was being checked, nothing starts, the entry is a
 * login.throttled, and the seconds that lock still lasts are returned (else 0).
 */
export async function recordSuccess(
  db: Database,
  login: string,
  session: NewSession | undefined,
  audit: LoginAudit & {
    account: { id: number; username: string };
    refused?: "deactivated" | "unverified";
  },
): Promise<number> {
  const { occasion, account } = audit;
  const settled = {
    login,
    at: occasion.at.toISOString(),
    ip: occasion.ip,
    userAgent: occasion.userAgent,
    accountId: account.id,
    accountUsername: account.username,
  };
  const [row] = session
    ? await startSession(db, {
        ...settled,
        sessionId: session.id,
        tokenVersion: session.user.tokenVersion,
        tokenHash: session.refresh.tokenHash,
        expiresAt: session.refresh.expiresAt.toISOString(),
      })
    : await refuseSession(db, { ...settled, refused: audit.refused ?? "deactivated" });
  return lockedSeconds(row, occasion.at);
}

type Settled = {
  login: string;
  at: string;
  ip: string;
  userAgent: string | null;
  accountId: number;
  accountUsername: string;
};

/** recordSuccess's statement, compiled once; `outcome` starts what the login starts, if anything. */
const settleLogin = <Values extends Settled>(
  name: string,
  outcome: (
    v: { [K in keyof Values]: SQL },
    account: Party,
    occasion: OrSql<Occasion>,
  ) => { start: SQL; entry: AuditEvent },
) =>
  compiledStatement<LockRow, Values>(name, (v) => {
    const occasion = { at: v.at, ip: v.ip, userAgent: v.userAgent };
    const account = { id: sql`${v.accountId}::int`, username: sql`${v.accountUsername}::text` };
    const { allowed } = passwordGate;
    const { start, entry } = outcome(v, account, occasion);
    return sql`with ${verifiedPasswordGate(v.login, v.at)}${start},
      ${auditCte("logged", entry, occasion, sql`from ${allowed}`)},
      ${auditCte("throttled", lockedOutEntry(account), occasion, sql`where not exists (select 1 from ${allowed})`)}
      select ${priorLock}`;
  });

const startSession = settleLogin<
  Settled & { sessionId: string; tokenVersion: number; tokenHash: string; expiresAt: string }
>("login_succeeded", (v, account, occasion) => {
  const session = {
    id: v.sessionId,
    user: { id: v.accountId, tokenVersion: v.tokenVersion },
    refresh: { tokenHash: v.tokenHash, expiresAt: v.expiresAt },
  };
  return {
    start: sql`, ${sessionStart(session, passwordGate.allowed, occasion)}`,
    entry: { action: "login.succeeded", actor: account, target: account },
  };
});

const refuseSession = settleLogin<Settled & { refused: string }>("login_refused", (v, account) => ({
  start: sql``,
  entry: { action: "login.failed", target: account, detail: sql`${v.refused}::text` },
}));

/**
 * Records a failed login in one statement. From the threshold on, each failure locks the name for
 * base * 2^(failures - threshold) seconds, at most 15 minutes; failures a day apart no longer
 * count as consecutive. Guesses sent at once all pass readLogin while argon2 runs, so the outcome
 * is settled under the row lock: a failure landing while the name is already locked is not
 * counted, and the seconds that lock still lasts are returned (else 0), so its answer is withheld
 * exactly as if it had arrived after the lock.
 */
export async function recordFailure(
  db: Database,
  login: string,
  lockout: Config["lockout"],
  audit: LoginAudit,
): Promise<number> {
  const now = audit.occasion.at;
  const key = throttleKey(login);
  const time = sqlTime(now);
  const memory = sql.raw(`interval '${FAILURE_MEMORY_SECONDS} seconds'`);
  const failures = sql`case when ${time} - t.updated_at > ${memory} then 1 else t.failures + 1 end`;
  const lockUntil = (count: SQL) => sql`case when ${count} >= ${lockout.threshold}::int
    then ${time} + least(${lockout.baseSeconds}::float8 * power(2::float8, ${count} - ${lockout.threshold}::int),
      ${MAX_LOCKOUT_SECONDS}) * interval '1 second' end`;
  const { account: target } = audit;
  // An unknown name is not stored: it may be a password typed into the wrong field.
  const failed = audit.failure
    ? { ...audit.failure, target }
    : target
      ? ({ action: "login.failed", target, detail: "password" } as const)
      : ({ action: "login.failed", detail: "unknown_account" } as const);
  // The same `prior` as verifiedPasswordGate's, so that priorLock reads it.
  const { prior } = passwordGate;
  const wasLocked = sql`coalesce((select locked_until from ${prior}) > ${time}, false)`;
  const [row] = await selectRows<LockRow>(
    db,
    sql`with ${prior} as (
        select locked_until from login_throttles where key = ${key} for update
      ), counted as (
        update login_throttles t set failures = ${failures},
          locked_until = ${lockUntil(failures)}, updated_at = ${time}
        from ${prior} where t.key = ${key} and not ${wasLocked}
      ), recreated as (
        -- A concurrent success deleted the row after readLogin made it.
        insert into login_throttles (key, failures, locked_until, updated_at)
        select ${key}, 1, ${lockUntil(sql`1`)}, ${time} where not exists (select 1 from ${prior})
        on conflict do nothing
      ), ${auditCte("logged", failed, audit.occasion, sql`where not ${wasLocked}`)},
      ${auditCte("throttled", lockedOutEntry(target), audit.occasion, sql`where ${wasLocked}`)}
      select ${priorLock}`,
  );
  return lockedSeconds(row, now);
}

/**
 * Deletes, in batches, a login name's row once its last failure is more than
 * FAILURE_MEMORY_SECONDS old and any lock it earned has ended (PRUNE_GRACE_SECONDS later): the
 * next failure would count as the first anyway, and nothing is locked, so the row means what no
 * row means. (A login between readLogin and recordFailure finds it gone as if a concurrent success
 * had deleted it, which recordFailure already handles.)
 */
export function pruneLoginThrottles(db: Database, now: Date, signal?: AbortSignal) {
  const stale = sql`updated_at < ${pruneCutoff(now, FAILURE_MEMORY_SECONDS)}
    and (locked_until is null or locked_until < ${pruneCutoff(now)})`;
  return deleteStaleRows(db, { table: "login_throttles", key: "key", stale }, signal);
}
