/** One outgoing message. */
export type MailMessage = { to: string; subject: string; text: string; html: string };

/** Sends mail; Resend in production, the console in development. */
export type Mailer = { send(message: MailMessage): Promise<void> };

/**
 * Prints messages instead of sending them (no RESEND_API_KEY). With `redact` (production) only the
 * envelope is printed: a reset link in a log would let anyone who reads logs take over accounts.
 */
export const consoleMailer = (
  options: { redact?: boolean; log?: (line: string) => void } = {},
): Mailer => {
  const log = options.log ?? console.log;
  return {
    async send({ to, subject, text }) {
      const shown = options.redact ? "(body withheld: set RESEND_API_KEY to send mail)" : text;
      log(`[mail] to=${to} subject=${JSON.stringify(subject)}\n${shown}`);
    },
  };
};

export function resetPasswordEmail(
  to: string,
  username: string,
  link: string,
  ttlSeconds: number,
): MailMessage {
  const lifetime = describeLifetime(ttlSeconds);
  const text = [
    `Hello ${username},`,
    "",
    "Someone asked to reset the password of your account. To choose a new password, open:",
    link,
    "",
    `The link works once and expires in ${lifetime}. If you did not ask for it, ignore this email.`,
  ].join("\n");
  const html = `<p>Hello ${escapeHtml(username)},</p><p>Someone asked to reset the password of your account. To choose a new password, open <a href="${escapeHtml(link)}">this link</a>.</p><p>The link works once and expires in ${lifetime}. If you did not ask for it, ignore this email.</p>`;
  return { to, subject: "Reset your password", text, html };
}

/** Rounds down, so the mail never promises more time than the token has. */
function describeLifetime(seconds: number) {
  const [count, unit] =
    seconds < 60
      ? [seconds, "second"]
      : seconds < 7200
        ? [Math.floor(seconds / 60), "minute"]
        : [Math.floor(seconds / 3600), "hour"];
  return `${count} ${unit}${count === 1 ? "" : "s"}`;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
