import { type SQL, sql } from "drizzle-orm";
import { auditCte, type Occasion, type Party } from "../audit/audit.store";
import { type Database, isUniqueViolation, selectRows, sqlTime } from "../db/database";
import type { emailTokenPurposes } from "../db/schema";

// Email links (verification of the current address, confirmation of a new one), stored only as
// their SHA-256, one live link per account and purpose. The statements of other operations that
// issue a link (registration, an email change, an ADMIN's update) build on emailTokenIssue.

export type EmailTokenPurpose = (typeof emailTokenPurposes)[number];

/** A link to issue: its hash, what it proves, its lifetime from `occasion.at`. */
export type EmailTokenIssue = {
  tokenHash: string;
  purpose: EmailTokenPurpose;
  ttlSeconds: number;
  /**
   * With it, a link issued less than this many seconds ago is kept and nothing is issued (the
   * resend interval); without it, the new link always replaces the old one.
   */
  intervalSeconds?: number;
};

/**
 * A CTE `name as (insert …)` issuing the link to each row of `from` (SQL whose rows have `id`
 * and the `email` the link goes to), replacing (voiding) the account's live link of that
 * purpose; it returns `user_id` for each link issued.
 */
export function emailTokenIssue(name: string, issue: EmailTokenIssue, at: Date, from: SQL): SQL {
  const expiresAt = sqlTime(new Date(at.getTime() + issue.ttlSeconds * 1000));
  const time = sqlTime(at);
  // A row newer than `at` is a concurrent request that read the clock later: issued just now.
  const interval =
    issue.intervalSeconds === undefined
      ? sql``
      : sql`where least(email_verification_tokens.created_at, excluded.created_at)
          <= excluded.created_at - ${issue.intervalSeconds}::int * interval '1 second'`;
  return sql`${sql.raw(name)} as (
      insert into email_verification_tokens (token_hash, user_id, purpose, email, created_at, expires_at)
      select ${issue.tokenHash}::text, id, ${issue.purpose}::email_token_purpose, email, ${time}, ${expiresAt}
      ${from}
      on conflict (user_id, purpose) do update
        set token_hash = excluded.token_hash, email = excluded.email,
          created_at = excluded.created_at, expires_at = excluded.expires_at
        ${interval}
      returning user_id
    )`;
}

type Resent = {
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  sent: boolean;
};

/**
 * Issues a new verification link to the caller's current address, unless the account is verified
 * (then "verified") or was sent one less than `intervalSeconds` ago (then `sent` is false and the
 * older link stays live). One statement, with its email.verification_sent entry when a link goes.
 */
export async function resendVerification(
  db: Database,
  me: Party & { id: number },
  issue: EmailTokenIssue & { intervalSeconds: number },
  occasion: Occasion,
): Promise<Resent | "verified"> {
  const sent = {
    action: "email.verification_sent",
    actor: me,
    target: me,
    detail: "resend",
  } as const;
  const [row] = await selectRows<Resent>(
    db,
    sql`with account as (
        select id, username, email, first_name, last_name from users
        where id = ${me.id} and not email_verified
      ), ${emailTokenIssue("issued", issue, occasion.at, sql`from account`)},
      ${auditCte("logged", sent, occasion, sql`from issued`)}
      select account.username, account.email, account.first_name as "firstName",
        account.last_name as "lastName", exists (select 1 from issued) as sent
      from account`,
  );
  return row ?? "verified";
}

/** What using a link did. */
export type EmailTokenUse = "verified" | "changed" | "invalid" | "taken";

/**
 * Uses a live link, in one statement: a verification link marks the address it was mailed to
 * verified (if the account still has it); a change link sets that new address, verified, and
 * voids the account's other links and its reset link (both went to the old address). With the
 * entry email.verified or email.changed. The delete is the atomic consume: of N concurrent uses
 * one gets the row. "taken" when the new address belongs to another account by then (the
 * unique index decides two confirmations at once): nothing changed, the link stays live.
 */
export async function useEmailToken(
  db: Database,
  tokenHash: string,
  occasion: Occasion,
): Promise<EmailTokenUse> {
  const time = sqlTime(occasion.at);
  const account = { id: sql`id`, username: sql`username` };
  const verified = { action: "email.verified", actor: account, target: account } as const;
  const changedEntry = { ...verified, action: "email.changed", fields: ["email"] } as const;
  try {
    const [row] = await selectRows<{ purpose: EmailTokenPurpose }>(
      db,
      sql`with consumed as (
          delete from email_verification_tokens
          where token_hash = ${tokenHash} and expires_at > ${time}
          returning user_id, purpose, email
        ), changed as (
          update users set email = consumed.email, email_verified = true, updated_at = ${time}
          from consumed
          where users.id = consumed.user_id
            and (consumed.purpose = 'change' or lower(users.email) = lower(consumed.email))
          returning users.id, users.username, consumed.purpose
        ), voided as (
          delete from email_verification_tokens t using changed
          where t.user_id = changed.id and changed.purpose = 'change' and t.purpose <> 'change'
        ), reset_voided as (
          delete from password_reset_tokens r using changed
          where r.user_id = changed.id and changed.purpose = 'change'
        ), ${auditCte("logged_verified", verified, occasion, sql`from changed where purpose = 'verify'`)},
        ${auditCte("logged_changed", changedEntry, occasion, sql`from changed where purpose = 'change'`)}
        select purpose from changed`,
    );
    if (!row) return "invalid";
    return row.purpose === "change" ? "changed" : "verified";
  } catch (error) {
    if (isUniqueViolation(error)) return "taken";
    throw error;
  }
}
