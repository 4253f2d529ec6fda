import { sql } from "drizzle-orm";
import { auditCte, type Occasion } from "../audit/audit.store";
import { type Database, selectRows, sqlTime } from "../db/database";
import type { User } from "../db/schema";
import { type EmailTokenIssue, emailTokenIssue } from "../email/email-token.store";
import { type NewSession, sessionStart } from "../sessions/session.store";
import {
  type LockRow,
  lockedSeconds,
  passwordGate,
  priorLock,
  verifiedPasswordGate,
} from "./login-throttle.store";

// What an account does to itself once checkPassword has passed (POST /api/me/password,
// POST /api/me/email, DELETE /api/me). Each is one statement, under the login name's lock (verifiedPasswordGate) and
// only while the caller's token still holds (the account active, its token version unchanged),
// with its audit entry.

/** The caller as its access token found it. */
export type Me = Pick<User, "id" | "username" | "role" | "tokenVersion">;

/** What a statement here says: how long the name is still locked for, and whether it acted. */
type Outcome = LockRow & { done: boolean };

/** The caller's row while its token still holds and the name's lock allowed the password. */
export const stillHolds = (me: Me) =>
  sql`id = ${me.id} and token_version = ${me.tokenVersion} and active and exists (select 1 from ${passwordGate.allowed})`;

/**
 * Sets the new password and bumps the token version (every older access token and session of
 * the account dies), voids a pending reset link, and starts `session`, the caller's fresh one
 * (its token version must be the bumped one). Returns the seconds a concurrent lockout still
 * lasts (then nothing changed), else whether the change was made.
 */
export async function changeOwnPassword(
  db: Database,
  me: Me,
  passwordHash: string,
  session: NewSession,
  occasion: Occasion,
): Promise<{ lockedFor: number; changed: boolean }> {
  const now = occasion.at;
  const time = sqlTime(now);
  const changedEntry = {
    action: "password.changed",
    actor: me,
    target: me,
    fields: ["password"],
  } as const;
  const changed = sql.raw("changed");
  const [row] = await selectRows<Outcome>(
    db,
    sql`with ${verifiedPasswordGate(me.username, now)},
      ${changed} as (
        update users set password_hash = ${passwordHash}, token_version = token_version + 1,
          updated_at = ${time}
        where ${stillHolds(me)}
        returning id
      ), voided as (
        delete from password_reset_tokens where user_id in (select id from ${changed})
      ), ${sessionStart(session, changed, occasion)},
      ${auditCte("logged", changedEntry, occasion, sql`from ${changed}`)}
      select ${priorLock}, exists (select 1 from ${changed}) as done`,
  );
  return { lockedFor: lockedSeconds(row, now), changed: row?.done ?? false };
}

/**
 * Deletes the caller's account (its sessions and reset tokens go with it), unless it is the
 * last active ADMIN. An ADMIN locks every active ADMIN in id order first, as updateAccount does,
 * so two admins deleting themselves at once cannot both go. Returns the seconds a concurrent
 * lockout still lasts, whether the account went, and, for an ADMIN, whether another remains.
 */
export async function deleteOwnAccount(db: Database, me: Me, occasion: Occasion) {
  const now = occasion.at;
  const deletedEntry = { action: "user.deleted", actor: me, target: me } as const;
  // count(*), not exists: every active ADMIN is locked, not just the first one found.
  const others =
    me.role === "ADMIN"
      ? sql`(select count(*) from (
          select id from users where role = 'ADMIN' and active order by id for update
        ) as admins where id <> ${me.id})`
      : sql`0`;
  const [row] = await selectRows<Outcome & { other_admins: number }>(
    db,
    sql`with ${verifiedPasswordGate(me.username, now)},
      other_admins as (select ${others}::int as n),
      deleted as (
        delete from users
        where ${stillHolds(me)} and (role = 'USER' or (select n from other_admins) > 0)
        returning id
      ), ${auditCte("logged", deletedEntry, occasion, sql`from deleted`)}
      select ${priorLock}, exists (select 1 from deleted) as done, (select n from other_admins) as other_admins`,
  );
  return {
    lockedFor: lockedSeconds(row, now),
    deleted: row?.done ?? false,
    lastAdmin: me.role === "ADMIN" && (row?.other_admins ?? 0) === 0,
  };
}

/**
 * Issues the link that confirms `newEmail` (replacing an earlier change link), unless another
 * account has that address (any letter case): then `taken` and nothing is issued. Nothing about
 * the account changes until the link is used (useEmailToken). With its email.change_requested
 * entry.
 */
export async function requestOwnEmailChange(
  db: Database,
  me: Me,
  change: { newEmail: string; issue: EmailTokenIssue },
  occasion: Occasion,
): Promise<{ lockedFor: number; requested: boolean; taken: boolean }> {
  const now = occasion.at;
  const requestedEntry = {
    action: "email.change_requested",
    actor: me,
    target: me,
    fields: ["email"],
  } as const;
  const taken = sql`exists (select 1 from users where lower(email) = lower(${change.newEmail}))`;
  const account = sql`from (
      select id, ${change.newEmail}::text as email from users where ${stillHolds(me)} and not ${taken}
    ) as account`;
  const [row] = await selectRows<Outcome & { taken: boolean }>(
    db,
    sql`with ${verifiedPasswordGate(me.username, now)},
      ${emailTokenIssue("requested", change.issue, now, account)},
      ${auditCte("logged", requestedEntry, occasion, sql`from requested`)}
      select ${priorLock}, exists (select 1 from requested) as done, ${taken} as taken`,
  );
  return {
    lockedFor: lockedSeconds(row, now),
    requested: row?.done ?? false,
    taken: row?.taken ?? false,
  };
}
