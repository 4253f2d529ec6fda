import { sql } from "drizzle-orm";
import { auditCte, type Occasion, type Party } from "../audit/audit.store";
import { type Database, deleteStaleRows, pruneCutoff, selectRows, sqlTime } from "../db/database";
import type { User } from "../db/schema";
import {
  type LockRow,
  lockedSeconds,
  passwordGate,
  priorLock,
  throttleKey,
} from "../login/login-throttle.store";
import { type NewSession, sessionStart } from "../sessions/session.store";
import { type Proof, spendProof } from "./mfa.store";

// The second step of a login with a factor: the challenge the password step leaves (an mfa_token,
// stored as its hash) and the statements that settle it.

/** Wrong codes one mfa_token survives. */
export const MFA_TOKEN_ATTEMPTS = 5;

/** The name's row lock and whether it allows the login on: passwordGate's CTEs, nothing cleared. */
const lockGate = (login: string, now: Date) => {
  const { prior, allowed } = passwordGate;
  return sql`${prior} as (
      select locked_until from login_throttles where key = ${throttleKey(login)} for update
    ), ${allowed} as (
      select 1 where not exists (select 1 from ${prior} where locked_until > ${sqlTime(now)})
    )`;
};

/**
 * After the right password of an account with a factor: stores the challenge, unless concurrent
 * failures locked the name meanwhile. It is no successful login: the name's failures stay. Returns
 * the seconds that lock still lasts, else 0.
 */
export async function startChallenge(
  db: Database,
  challenge: {
    tokenHash: string;
    login: string;
    user: Pick<User, "id" | "tokenVersion">;
    expiresAt: Date;
  },
  now: Date,
) {
  const { allowed } = passwordGate;
  const [row] = await selectRows<LockRow>(
    db,
    sql`with ${lockGate(challenge.login, now)},
      started as (
        insert into mfa_challenges (token_hash, user_id, token_version, login, failures, created_at, expires_at)
        select ${challenge.tokenHash}::text, ${challenge.user.id}::int, ${challenge.user.tokenVersion}::int,
          ${challenge.login}::text, 0, ${sqlTime(now)}, ${sqlTime(challenge.expiresAt)} from ${allowed}
      )
      select ${priorLock}`,
  );
  return lockedSeconds(row, now);
}

type ChallengeRow = {
  login: string;
  user_id: number;
  username: string;
  role: User["role"];
  token_version: number;
  secret_ciphertext: string;
  key_id: string;
  last_used_step: number | null;
  locked_until: number | null;
};

/**
 * A live challenge (unexpired, fewer than MFA_TOKEN_ATTEMPTS wrong codes, its account active, its
 * factor on and its token version unchanged since the password step), with the factor and how
 * long its login name is locked, in one query.
 */
export async function readChallenge(db: Database, tokenHash: string, now: Date) {
  const [row] = await selectRows<ChallengeRow>(
    db,
    sql`select c.login, u.id as user_id, u.username, u.role, u.token_version,
        f.secret_ciphertext, f.key_id, f.last_used_step::float8 as last_used_step,
        extract(epoch from t.locked_until)::float8 as locked_until
      from mfa_challenges c
      join users u on u.id = c.user_id and u.token_version = c.token_version and u.active and u.mfa_enabled
      join mfa_factors f on f.user_id = u.id
      left join login_throttles t on t.key = ${throttleKey(sql`c.login`)}
      where c.token_hash = ${tokenHash} and c.expires_at > ${sqlTime(now)}
        and c.failures < ${MFA_TOKEN_ATTEMPTS}::int`,
  );
  if (!row) return undefined;
  return {
    login: row.login,
    user: {
      id: row.user_id,
      username: row.username,
      role: row.role,
      tokenVersion: row.token_version,
    },
    factor: {
      sealed: { ciphertext: row.secret_ciphertext, keyId: row.key_id },
      lastUsedStep: row.last_used_step,
    },
    lockedForSeconds: lockedSeconds(row, now),
  };
}

export type LiveChallenge = NonNullable<Awaited<ReturnType<typeof readChallenge>>>;

/**
 * The login's success, in one statement under the name's row lock: the challenge is consumed,
 * the proof spent, the name's failures cleared and `session` started, with its login.succeeded
 * entry (detail: which factor). Of concurrent uses of one token, code or backup code only the
 * first finds them unspent. Returns the seconds a concurrent lockout lasts, and whether it
 * succeeded (neither: the token or the proof was spent meanwhile).
 */
export async function completeChallenge(
  db: Database,
  tokenHash: string,
  challenge: LiveChallenge,
  proof: Proof,
  session: NewSession,
  occasion: Occasion,
) {
  const now = occasion.at;
  const { allowed } = passwordGate;
  const account: Party = challenge.user;
  const entry = {
    action: "login.succeeded",
    actor: account,
    target: account,
    detail: proof.kind,
  } as const;
  const [row] = await selectRows<LockRow & { done: boolean }>(
    db,
    sql`with ${lockGate(challenge.login, now)},
      consumed as (
        delete from mfa_challenges
        where token_hash = ${tokenHash} and failures < ${MFA_TOKEN_ATTEMPTS}::int
          and expires_at > ${sqlTime(now)} and exists (select 1 from ${allowed})
        returning user_id as id
      ), ${spendProof(proof, sql`consumed`)},
      cleared as (
        delete from login_throttles
        where key = ${throttleKey(challenge.login)} and exists (select 1 from proven)
      ), ${sessionStart(session, sql`proven`, occasion)},
      ${auditCte("logged", entry, occasion, sql`from proven`)}
      select ${priorLock}, exists (select 1 from proven) as done`,
  );
  return { lockedFor: lockedSeconds(row, now), done: row?.done ?? false };
}

/** A wrong code counts against the token (the login name's count is recordFailure's). */
export async function countWrongCode(db: Database, tokenHash: string) {
  await db.execute(
    sql`update mfa_challenges set failures = failures + 1 where token_hash = ${tokenHash}`,
  );
}

/** Deletes, in batches, challenges that expired more than PRUNE_GRACE_SECONDS ago. */
export function pruneMfaChallenges(db: Database, now: Date, signal?: AbortSignal) {
  const stale = sql`expires_at < ${pruneCutoff(now)}`;
  return deleteStaleRows(db, { table: "mfa_challenges", key: "token_hash", stale }, signal);
}
