import { randomToken, sha256Hex } from "../../auth/tokens";
import { resendVerification as resend } from "../../email/email-token.store";
import { alreadyTaken, alreadyVerified, lockedOut, unauthorized } from "../../errors";
import type { AppRouteHandler } from "../../http/handler";
import { occasionOf } from "../../http/occasion";
import { invalidParameter } from "../../http/validation";
import { requestOwnEmailChange } from "../../login/own-account.store";
import { composeMail, sendAfterResponse } from "../../mail/compose";
import { mailEmailLink } from "../auth/email-links";
import { verifyOwnPassword } from "./me.handlers";
import type * as routes from "./me.routes";

const SENT = { msg: "A verification link has been sent to your email address." };

export const resendVerification: AppRouteHandler<routes.ResendVerificationRoute> = async (c) => {
  const me = c.get("currentUser");
  const { db, config } = c.get("deps");
  if (me.emailVerified) throw alreadyVerified();
  const token = randomToken();
  const issue = {
    tokenHash: sha256Hex(token),
    purpose: "verify",
    ttlSeconds: config.emailVerifyTtl,
    intervalSeconds: config.resetEmailInterval,
  } as const;
  const outcome = await resend(db, me, issue, occasionOf(c));
  // Verified by a link used meanwhile.
  if (outcome === "verified") throw alreadyVerified();
  // Inside the interval the answer is the same, and the link mailed last stays the live one.
  if (outcome.sent) mailEmailLink(c, "email_verification", outcome, token);
  return c.json(SENT, 200);
};

export const changeEmail: AppRouteHandler<routes.ChangeEmailRoute> = async (c) => {
  const { email, password } = c.req.valid("json");
  const me = c.get("currentUser");
  const { db, config } = c.get("deps");
  const occasion = occasionOf(c);
  if (email.toLowerCase() === me.email.toLowerCase()) {
    throw invalidParameter("email", "must differ from your current email address");
  }
  // The password first: whoever holds only the access token learns nothing, not even "taken".
  await verifyOwnPassword(c, password, occasion);
  const token = randomToken();
  const issue = {
    tokenHash: sha256Hex(token),
    purpose: "change",
    ttlSeconds: config.emailVerifyTtl,
  } as const;
  const outcome = await requestOwnEmailChange(db, me, { newEmail: email, issue }, occasion);
  if (outcome.lockedFor) throw lockedOut(outcome.lockedFor);
  if (outcome.taken) throw alreadyTaken();
  if (!outcome.requested) throw unauthorized();
  mailEmailLink(c, "email_change_confirmation", { ...me, email }, token);
  const { username, firstName, lastName } = me;
  const notice = { username, firstName, lastName, newEmail: email };
  sendAfterResponse(c, composeMail(c, "email_change_notice", me.email, notice));
  return c.json({ msg: "A confirmation link has been sent to the new address." }, 200);
};
