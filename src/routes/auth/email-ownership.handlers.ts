import { sha256Hex } from "../../auth/tokens";
import { useEmailToken } from "../../email/email-token.store";
import { alreadyTaken, invalidVerificationToken } from "../../errors";
import type { AppRouteHandler } from "../../http/handler";
import { occasionOf } from "../../http/occasion";
import type * as routes from "./auth.routes";

export const verifyEmail: AppRouteHandler<routes.VerifyEmailRoute> = async (c) => {
  const { token } = c.req.valid("json");
  const outcome = await useEmailToken(c.get("deps").db, sha256Hex(token), occasionOf(c));
  if (outcome === "invalid") throw invalidVerificationToken();
  // An email change whose new address another account took meanwhile; the link stays live.
  if (outcome === "taken") throw alreadyTaken();
  return c.json({ msg: "Email verified." }, 200);
};
