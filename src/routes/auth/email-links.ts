import type { Context } from "hono";
import type { AppEnv } from "../../deps";
import { composeMail, sendAfterResponse } from "../../mail/compose";
import { verifyPageUrl } from "../pages/verify-page";

/**
 * Mails an email link (`token` appended to EMAIL_VERIFY_URL) once the response is out. Without
 * EMAIL_VERIFY_URL only on Workers outside production (Node's entry sets its default, the Worker
 * refuses production without it), as for reset links: the request's origin.
 */
export function mailEmailLink(
  c: Context<AppEnv>,
  kind: "email_verification" | "email_change_confirmation",
  to: {
    username: string;
    email: string;
    firstName?: string;
    lastName?: string;
    /** The account's language, when someone else causes the mail (an ADMIN's change). */
    language?: string | null;
  },
  token: string,
) {
  const { config } = c.get("deps");
  const link = (config.emailVerifyUrl ?? verifyPageUrl(c.req.url)) + token;
  const { username, firstName, lastName } = to;
  const facts = { username, firstName, lastName, link, ttlSeconds: config.emailVerifyTtl };
  sendAfterResponse(c, composeMail(c, kind, to.email, facts, to.language));
}
