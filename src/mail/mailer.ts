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
