import type { MailKind } from "./kinds";

/** One message's three parts as template text. */
export type MessageSource = { subject: string; text: string; html: string };

const lines = (...text: string[]) => text.join("\n");

/** The English messages, always present; a template directory may replace any part of them. */
export const builtInEnglish: Record<MailKind, MessageSource> = {
  password_reset: {
    subject: "Reset your password",
    text: lines(
      "Hello {{username}},",
      "",
      "Someone asked to reset the password of your account. To choose a new password, open:",
      "{{link}}",
      "",
      "The link works once and expires in {{lifetime}}. If you did not ask for it, ignore this email.",
    ),
    html: '<p>Hello {{username}},</p><p>Someone asked to reset the password of your account. To choose a new password, open <a href="{{link}}">this link</a>.</p><p>The link works once and expires in {{lifetime}}. If you did not ask for it, ignore this email.</p>',
  },
  email_verification: {
    subject: "Confirm your email address",
    text: lines(
      "Hello {{username}},",
      "",
      "To confirm that this address is yours, open:",
      "{{link}}",
      "",
      "The link works once and expires in {{lifetime}}. If you did not create an account, ignore this email.",
    ),
    html: '<p>Hello {{username}},</p><p>To confirm that this address is yours, open <a href="{{link}}">this link</a>.</p><p>The link works once and expires in {{lifetime}}. If you did not create an account, ignore this email.</p>',
  },
  email_change_confirmation: {
    subject: "Confirm your new email address",
    text: lines(
      "Hello {{username}},",
      "",
      "Someone asked to use this address for your account. To confirm the change, open:",
      "{{link}}",
      "",
      "The link works once and expires in {{lifetime}}. Nothing changes until it is used.",
    ),
    html: '<p>Hello {{username}},</p><p>Someone asked to use this address for your account. To confirm the change, open <a href="{{link}}">this link</a>.</p><p>The link works once and expires in {{lifetime}}. Nothing changes until it is used.</p>',
  },
  email_change_notice: {
    subject: "Your email address is being changed",
    text: lines(
      "Hello {{username}},",
      "",
      "Someone asked to change the email address of your account to {{new_email}}.",
      "Nothing changes until the new address confirms. If this was not you, change your password.",
    ),
    html: "<p>Hello {{username}},</p><p>Someone asked to change the email address of your account to {{new_email}}.</p><p>Nothing changes until the new address confirms. If this was not you, change your password.</p>",
  },
};
