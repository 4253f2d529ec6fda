import { eq, type SQL, sql } from "drizzle-orm";
import { auditCte, type Occasion, type Party } from "../audit/audit.store";
import { type Database, selectRows, sqlTime } from "../db/database";
import { mfaFactors } from "../db/schema";
import {
  type LockRow,
  lockedSeconds,
  priorLock,
  verifiedPasswordGate,
} from "../login/login-throttle.store";
import { type Me, stillHolds } from "../login/own-account.store";
import type { SealedSecret } from "./secret-box";

// What an account does to its second factor (docs/api.md, second factor). The routes that take
// the password settle under the login name's lock (verifiedPasswordGate) and only while the
// caller's token still holds, as src/login/own-account.store.ts does; each is one statement with
// its audit entry.

/** What proved the factor: the TOTP step a code was accepted for, or a backup code's hash. */
export type Proof = { kind: "totp"; step: number } | { kind: "backup_code"; hash: string };

/** The account's factor (pending or enabled), as stored. */
export async function findFactor(db: Database, userId: number) {
  const [row] = await db.select().from(mfaFactors).where(eq(mfaFactors.userId, userId)).limit(1);
  return row;
}

type Outcome = LockRow & { done: boolean; enabled: boolean };
const outcomeOf = (row: Outcome | undefined, now: Date) => ({
  lockedFor: lockedSeconds(row, now),
  done: row?.done ?? false,
  enabled: row?.enabled ?? false,
});
const enabledNow = (me: Me) =>
  sql`coalesce((select mfa_enabled from users where id = ${me.id}), false) as enabled`;

/**
 * Starts (or restarts, replacing the secret) a pending enrollment, unless a factor is on.
 * Returns the seconds a concurrent lockout still lasts, whether it started, and whether a factor
 * is on.
 */
export async function startEnrollment(
  db: Database,
  me: Me,
  sealed: SealedSecret,
  occasion: Occasion,
) {
  const now = occasion.at;
  const [row] = await selectRows<Outcome>(
    db,
    sql`with ${verifiedPasswordGate(me.username, now)},
      holder as (select id from users where ${stillHolds(me)} and not mfa_enabled),
      started as (
        insert into mfa_factors (user_id, secret_ciphertext, key_id, last_used_step, created_at)
        select id, ${sealed.ciphertext}::text, ${sealed.keyId}::text, null, ${sqlTime(now)} from holder
        on conflict (user_id) do update set secret_ciphertext = excluded.secret_ciphertext,
          key_id = excluded.key_id, last_used_step = null, created_at = excluded.created_at
        returning user_id
      )
      select ${priorLock}, exists (select 1 from started) as done, ${enabledNow(me)}`,
  );
  return outcomeOf(row, now);
}

const insertCodes = (hashes: string[], from: SQL) =>
  sql`insert into mfa_backup_codes (code_hash, user_id)
    select unnest(${sql`array[${sql.join(
      hashes.map((h) => sql`${h}::text`),
      sql`, `,
    )}]`}), user_id ${from}`;

/**
 * Turns the pending factor on, if it is still the one whose code was checked (`sealed`), records
 * the step used and stores the backup codes' hashes. Whether it did.
 */
export async function confirmEnrollment(
  db: Database,
  me: Me,
  checked: { sealed: SealedSecret; step: number; backupHashes: string[] },
  occasion: Occasion,
) {
  const time = sqlTime(occasion.at);
  const entry = { action: "mfa.enabled", actor: me, target: me } as const;
  const [row] = await selectRows<{ done: boolean }>(
    db,
    sql`with stepped as (
        update mfa_factors set last_used_step = ${checked.step}::bigint
        where user_id = ${me.id} and secret_ciphertext = ${checked.sealed.ciphertext}
          and (last_used_step is null or last_used_step < ${checked.step}::bigint)
          and exists (select 1 from users where id = ${me.id} and token_version = ${me.tokenVersion}
            and active and not mfa_enabled)
        returning user_id
      ), enabled as (
        update users set mfa_enabled = true, updated_at = ${time}
        where id in (select user_id from stepped) returning id
      ), codes as (${insertCodes(checked.backupHashes, sql`from stepped`)}),
      ${auditCte("logged", entry, occasion, sql`from enabled`)}
      select exists (select 1 from enabled) as done`,
  );
  return row?.done ?? false;
}

/**
 * The CTE `proven` (the factor's owner, once) that spends a proof of the enabled factor: a TOTP
 * step later than the last one used (which it becomes), or a backup code (deleted). Concurrent
 * uses of one code or step wait on its row, and only the first finds it still unspent.
 */
export function spendProof(proof: Proof, holder: SQL): SQL {
  if (proof.kind === "totp") {
    return sql`proven as (
        update mfa_factors set last_used_step = ${proof.step}::bigint
        where user_id in (select id from ${holder})
          and (last_used_step is null or last_used_step < ${proof.step}::bigint)
        returning user_id
      )`;
  }
  return sql`proven as (
      delete from mfa_backup_codes
      where code_hash = ${proof.hash} and user_id in (select id from ${holder})
      returning user_id
    )`;
}

/** The hash of the backup code a proof spent, so a statement's other deletes leave its row alone. */
const spentHash = (proof: Proof) => (proof.kind === "backup_code" ? proof.hash : "");

/** Turns the factor off (with its backup codes) once `proof` is spent. */
export async function disableOwnFactor(db: Database, me: Me, proof: Proof, occasion: Occasion) {
  const now = occasion.at;
  const entry = { action: "mfa.disabled", actor: me, target: me, detail: "self" } as const;
  const [row] = await selectRows<Outcome>(
    db,
    sql`with ${verifiedPasswordGate(me.username, now)},
      holder as (select id from users where ${stillHolds(me)} and mfa_enabled for update),
      ${spendProof(proof, sql`holder`)},
      off as (
        update users set mfa_enabled = false, updated_at = ${sqlTime(now)}
        where id in (select user_id from proven) returning id
      ), codes_gone as (
        delete from mfa_backup_codes
        where user_id in (select id from off) and code_hash <> ${spentHash(proof)}
      ), ${auditCte("logged", entry, occasion, sql`from off`)}
      select ${priorLock}, exists (select 1 from off) as done, ${enabledNow(me)}`,
  );
  // The factor row itself: spent above (an update of it), so deleted by its own statement.
  if (row?.done) await db.delete(mfaFactors).where(eq(mfaFactors.userId, me.id));
  return outcomeOf(row, now);
}

/** Replaces the backup codes once `proof` is spent: the old ones stop working. */
export async function regenerateBackupCodes(
  db: Database,
  me: Me,
  proof: Proof,
  hashes: string[],
  occasion: Occasion,
) {
  const now = occasion.at;
  const entry = { action: "mfa.backup_codes_regenerated", actor: me, target: me } as const;
  const [row] = await selectRows<Outcome>(
    db,
    sql`with ${verifiedPasswordGate(me.username, now)},
      holder as (select id from users where ${stillHolds(me)} and mfa_enabled for update),
      ${spendProof(proof, sql`holder`)},
      old_gone as (
        delete from mfa_backup_codes
        where user_id in (select user_id from proven) and code_hash <> ${spentHash(proof)}
      ), codes as (${insertCodes(hashes, sql`from proven`)}),
      ${auditCte("logged", entry, occasion, sql`from proven`)}
      select ${priorLock}, exists (select 1 from proven) as done, ${enabledNow(me)}`,
  );
  return outcomeOf(row, now);
}

/**
 * An ADMIN turns an account's factor off (enabled or pending): the factor, its backup codes and
 * pending logins go, and the token-version bump ends every session and access token. Only a
 * USER's, or the ADMIN's own. Whether the account was one of those.
 */
export async function clearFactor(
  db: Database,
  targetId: number,
  actor: Party & { id: number },
  occasion: Occasion,
) {
  const time = sqlTime(occasion.at);
  const account = { id: sql`id`, username: sql`username` };
  const entry = { action: "mfa.disabled", actor, target: account, detail: "admin" } as const;
  const [row] = await selectRows<{ done: boolean }>(
    db,
    sql`with cleared as (
        update users set mfa_enabled = false, token_version = token_version + 1, updated_at = ${time}
        where id = ${targetId} and (role = 'USER' or id = ${actor.id})
        returning id, username
      ), factor_gone as (delete from mfa_factors where user_id in (select id from cleared)),
      codes_gone as (delete from mfa_backup_codes where user_id in (select id from cleared)),
      logins_gone as (delete from mfa_challenges where user_id in (select id from cleared)),
      revoked as (
        update sessions set revoked_at = ${time}
        where user_id in (select id from cleared) and revoked_at is null
      ), ${auditCte("logged", entry, occasion, sql`from cleared`)}
      select exists (select 1 from cleared) as done`,
  );
  return row?.done ?? false;
}
