import type { Config } from "../config";
import { consoleMailer, type Mailer } from "./mailer";
import { resendMailer } from "./resend";

/** Resend when RESEND_API_KEY is set, else the console (which withholds links in production). */
export function mailerFor(config: Config): Mailer {
  if (config.resendApiKey) {
    return resendMailer({
      apiKey: config.resendApiKey,
      from: config.mailFrom,
      baseUrl: config.resendBaseUrl,
    });
  }
  return consoleMailer({ redact: config.nodeEnv === "production" });
}
