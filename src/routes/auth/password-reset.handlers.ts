import { hashPassword } from "../../auth/password";
import { assertAcceptablePassword } from "../../auth/password-policy";
import { randomToken, sha256Hex } from "../../auth/tokens";
import { invalidResetToken } from "../../errors";
import type { AppRouteHandler } from "../../http/handler";
import { occasionOf } from "../../http/occasion";
import { composeMail, sendAfterResponse } from "../../mail/compose";
import {
  findResetTokenHolder,
  issueResetToken,
  resetPasswordWithToken,
} from "../../password-reset/reset-token.store";
import { resetPageUrl } from "../pages/reset-page";
import type * as routes from "./auth.routes";

export const forgetPassword: AppRouteHandler<routes.ForgetPasswordRoute> = async (c) => {
  const body = c.req.valid("json");
  const { db, config } = c.get("deps");
  const msg = "If the account exists, a password reset link has been sent.";
  // The same work whether or not the pair matches: the time taken must not tell.
  const token = randomToken();
  const rules = { ttlSeconds: config.resetTokenTtl, intervalSeconds: config.resetEmailInterval };
  const account = await issueResetToken(db, body, sha256Hex(token), rules, occasionOf(c));
  if (!account) return c.json({ msg }, 200);
  // Without APP_URL only on Workers outside production (Node's entry sets its default, the Worker
  // refuses production without it): a wildcard route or a proxy would let the client's Host in.
  const link = (config.appUrl ?? resetPageUrl(c.req.url)) + token;
  const { username, firstName, lastName } = account;
  const facts = { username, firstName, lastName, link, ttlSeconds: config.resetTokenTtl };
  sendAfterResponse(c, composeMail(c, "password_reset", account.email, facts));
  return c.json(config.exposeResetToken ? { msg, token } : { msg }, 200);
};

export const resetPassword: AppRouteHandler<routes.ResetPasswordRoute> = async (c) => {
  const body = c.req.valid("json");
  const { db, hasher } = c.get("deps");
  const tokenHash = sha256Hex(body.token);
  const occasion = occasionOf(c);
  // Refuse unknown tokens before paying for argon2.
  const account = await findResetTokenHolder(db, tokenHash, occasion.at);
  if (!account) throw invalidResetToken();
  assertAcceptablePassword(body.new_password, account, "new_password");
  const passwordHash = await hashPassword(hasher, body.new_password);
  // Whoever holds the mailbox has proven it: a lockout earned by guessers ends here too.
  if (!(await resetPasswordWithToken(db, tokenHash, passwordHash, occasion))) {
    throw invalidResetToken();
  }
  return c.json({ msg: "Password has been reset." }, 200);
};
