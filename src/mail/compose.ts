import type { Context } from "hono";
import type { AppEnv } from "../deps";
import type { MailMessage } from "./mailer";

/** Every message the API sends. */
export type MailKind =
  | "password_reset"
  | "email_verification"
  | "email_change_confirmation"
  | "email_change_notice";

/** What a message may say; each kind uses the facts it needs. */
export type MailFacts = {
  username: string;
  /** The one-time link (reset, verification, change confirmation). */
  link?: string;
  /** How long the link works. */
  ttlSeconds?: number;
  /** The address an email change goes to (the notice to the old address names it). */
  newEmail?: string;
};

/**
 * The message of `kind` for `to`. The language is the account's (`accountLanguage`, when the mail is
 * caused by someone else) or else the request's Accept-Language.
 */
export function composeMail(
  c: Context<AppEnv>,
  kind: MailKind,
  to: string,
  facts: MailFacts,
  accountLanguage?: string | null,
): MailMessage {
  void c;
  void accountLanguage;
  return { to, ...builtIn[kind](facts) };
}

/** Queues `message` to be sent once the response is out: its cost must not show in the timing. */
export function sendAfterResponse(c: Context<AppEnv>, message: MailMessage): void {
  const { mailer, defer } = c.get("deps");
  defer(new Promise((later) => setTimeout(later, 0)).then(() => mailer.send(message)));
}

type Written = Omit<MailMessage, "to">;

const builtIn: Record<MailKind, (facts: MailFacts) => Written> = {
  password_reset: ({ username, link = "", ttlSeconds = 0 }) => {
    const lifetime = describeLifetime(ttlSeconds);
    return {
      subject: "Reset your password",
      text: [
        `Hello ${username},`,
        "",
        "Someone asked to reset the password of your account. To choose a new password, open:",
        link,
        "",
        `The link works once and expires in ${lifetime}. If you did not ask for it, ignore this email.`,
      ].join("\n"),
      html: `<p>Hello ${escapeHtml(username)},</p><p>Someone asked to reset the password of your account. To choose a new password, open <a href="${escapeHtml(link)}">this link</a>.</p><p>The link works once and expires in ${lifetime}. If you did not ask for it, ignore this email.</p>`,
    };
  },
  email_verification: ({ username, link = "", ttlSeconds = 0 }) => {
    const lifetime = describeLifetime(ttlSeconds);
    return {
      subject: "Confirm your email address",
      text: [
        `Hello ${username},`,
        "",
        "To confirm that this address is yours, open:",
        link,
        "",
        `The link works once and expires in ${lifetime}. If you did not create an account, ignore this email.`,
      ].join("\n"),
      html: `<p>Hello ${escapeHtml(username)},</p><p>To confirm that this address is yours, open <a href="${escapeHtml(link)}">this link</a>.</p><p>The link works once and expires in ${lifetime}. If you did not create an account, ignore this email.</p>`,
    };
  },
  email_change_confirmation: ({ username, link = "", ttlSeconds = 0 }) => {
    const lifetime = describeLifetime(ttlSeconds);
    return {
      subject: "Confirm your new email address",
      text: [
        `Hello ${username},`,
        "",
        "Someone asked to use this address for your account. To confirm the change, open:",
        link,
        "",
        `The link works once and expires in ${lifetime}. Nothing changes until it is used.`,
      ].join("\n"),
      html: `<p>Hello ${escapeHtml(username)},</p><p>Someone asked to use this address for your account. To confirm the change, open <a href="${escapeHtml(link)}">this link</a>.</p><p>The link works once and expires in ${lifetime}. Nothing changes until it is used.</p>`,
    };
  },
  email_change_notice: ({ username, newEmail = "" }) => ({
    subject: "Your email address is being changed",
    text: [
      `Hello ${username},`,
      "",
      `Someone asked to change the email address of your account to ${newEmail}.`,
      "Nothing changes until the new address confirms. If this was not you, change your password.",
    ].join("\n"),
    html: `<p>Hello ${escapeHtml(username)},</p><p>Someone asked to change the email address of your account to ${escapeHtml(newEmail)}.</p><p>Nothing changes until the new address confirms. If this was not you, change your password.</p>`,
  }),
};

/** Rounds down, so the mail never promises more time than the token has. */
export function describeLifetime(seconds: number) {
  const [count, unit] =
    seconds < 60
      ? [seconds, "second"]
      : seconds < 7200
        ? [Math.floor(seconds / 60), "minute"]
        : [Math.floor(seconds / 3600), "hour"];
  return `${count} ${unit}${count === 1 ? "" : "s"}`;
}

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
