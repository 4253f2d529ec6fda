import { Resend } from "resend";
import type { Mailer } from "./mailer";

/** Sends through the Resend API with the official SDK; `baseUrl` points it at a fake in tests. */
export function resendMailer(options: { apiKey: string; from: string; baseUrl?: string }): Mailer {
  const client = new Resend(options.apiKey, { baseUrl: options.baseUrl });
  return {
    async send(message) {
      const { error } = await client.emails.send({ from: options.from, ...message });
      // The SDK reports failures as values; surface them so the caller logs them. Its error
      // values can lack a message, and statusCode is null when no response came.
      if (error) {
        const detail = error.message ? `: ${error.message}` : "";
        throw new Error(
          `Resend refused the message (status ${error.statusCode ?? "none"}): ${error.name}${detail}`,
        );
      }
    },
  };
}
