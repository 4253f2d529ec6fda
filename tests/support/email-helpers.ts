import { asc, eq } from "drizzle-orm";
import { expect } from "vitest";
import { auditLog, emailVerificationTokens } from "../../src/db/schema";
import type { MailMessage } from "../../src/mail/mailer";
import { sha256Hex } from "./auth-helpers";
import type { ContractApi } from "./contract-api";

// Helpers for the email-ownership tests: the link's token read from the captured mail, the
// rows behind it, and the entries the flows write.

type Api = Pick<ContractApi, "db" | "send" | "mailsTo">;

export const EMAIL_VERIFIED = { msg: "Email verified." };
export const INVALID_VERIFICATION_TOKEN = {
  msg: "Invalid or expired token.",
  code: "INVALID_VERIFICATION_TOKEN",
};
export const ALREADY_TAKEN = { msg: "Username or email is already taken.", code: "CONFLICT" };

/** The token of a verification or change link (the default /verify-email page, any origin). */
export const LINK_TOKEN = /\/verify-email\?token=([A-Za-z0-9_-]+)/;

/** The tokens of every email link mailed to `address`, oldest first. */
export async function linkTokensTo(api: Api, address: string) {
  const mails = await api.mailsTo(address);
  return mails.flatMap((mail) => {
    const token = LINK_TOKEN.exec(mail.text)?.[1];
    return token ? [token] : [];
  });
}

/** The token of the newest link mailed to `address`; fails the test when there is none. */
export async function linkTokenTo(api: Api, address: string) {
  const tokens = await linkTokensTo(api, address);
  expect(tokens.length, `no link mailed to ${address}`).toBeGreaterThan(0);
  return tokens.at(-1) as string;
}

/** The mails to `address` that carry no link at all. */
export const withoutLink = (mails: MailMessage[]) =>
  mails.filter((mail) => !/token=|https?:\/\//.test(`${mail.text}${mail.html}`));

export const verifyEmail = (api: Pick<ContractApi, "send">, token: unknown) =>
  api.send("POST", "/api/user/verify_email", { token });

export const emailTokensOf = (api: Pick<ContractApi, "db">, userId: number) =>
  api.db.select().from(emailVerificationTokens).where(eq(emailVerificationTokens.userId, userId));

/** The live token row of `token`, by its hash. */
export async function emailTokenRow(api: Pick<ContractApi, "db">, token: string) {
  const [row] = await api.db
    .select()
    .from(emailVerificationTokens)
    .where(eq(emailVerificationTokens.tokenHash, await sha256Hex(token)));
  return row;
}

/** The audit entries naming the account as target, oldest first: action and detail. */
export async function entriesOf(api: Pick<ContractApi, "db">, userId: number) {
  const rows = await api.db
    .select()
    .from(auditLog)
    .where(eq(auditLog.targetId, userId))
    .orderBy(asc(auditLog.id));
  return rows.map((row) => ({ action: row.action, detail: row.detail, fields: row.fields }));
}
