import type { Context } from "hono";
import type { Occasion } from "../../audit/audit.store";
import type { AppEnv } from "../../deps";
import {
  conflict,
  forbidden,
  invalidMfaCode,
  lockedOut,
  notFound,
  unauthorized,
  wrongPassword,
} from "../../errors";
import type { AppRouteHandler } from "../../http/handler";
import { occasionOf } from "../../http/occasion";
import { checkPassword } from "../../login/check-password";
import { newBackupCodes } from "../../mfa/backup-codes";
import { newEnrollment, proofOf, totpProof } from "../../mfa/factor";
import {
  clearFactor,
  confirmEnrollment,
  disableOwnFactor,
  findFactor,
  regenerateBackupCodes as replaceBackupCodes,
  startEnrollment,
} from "../../mfa/mfa.store";
import { completeMfaLogin } from "../../mfa/mfa-login";
import { isPlausibleUsername } from "../../users/user.fields";
import { findByUsername } from "../../users/user.store";
import type * as routes from "./mfa.routes";

const factorOff = () => conflict("No second factor is on.");
const factorOn = () => conflict("A second factor is already on.");

/** The caller's own password, checked as login checks one (the lockout applies). */
async function verifyOwnPassword(c: Context<AppEnv>, password: string, occasion: Occasion) {
  const me = c.get("currentUser");
  const attempt = { login: me.username, password, account: me, refusal: wrongPassword };
  await checkPassword(c.get("deps"), attempt, occasion);
}

/** What a statement under the password's lock said, as the answer when it did nothing. */
function refusal(outcome: { lockedFor: number; enabled: boolean }, expectEnabled: boolean) {
  if (outcome.lockedFor) return lockedOut(outcome.lockedFor);
  if (outcome.enabled !== expectEnabled) return expectEnabled ? factorOff() : factorOn();
  return unauthorized();
}

export const startTotp: AppRouteHandler<routes.StartTotpRoute> = async (c) => {
  const { password } = c.req.valid("json");
  const me = c.get("currentUser");
  const { db, config } = c.get("deps");
  const occasion = occasionOf(c);
  if (me.mfaEnabled) throw factorOn();
  await verifyOwnPassword(c, password, occasion);
  const enrollment = await newEnrollment(config, me);
  const outcome = await startEnrollment(db, me, enrollment.sealed, occasion);
  if (!outcome.done) throw refusal(outcome, false);
  return c.json(enrollment.shown, 200);
};

export const confirmTotp: AppRouteHandler<routes.ConfirmTotpRoute> = async (c) => {
  const { code } = c.req.valid("json");
  const me = c.get("currentUser");
  const { db, config } = c.get("deps");
  const occasion = occasionOf(c);
  const factor = me.mfaEnabled ? undefined : await findFactor(db, me.id);
  if (!factor) throw conflict("No second factor is waiting for confirmation.");
  const sealed = { ciphertext: factor.secretCiphertext, keyId: factor.keyId };
  const stored = { sealed, lastUsedStep: factor.lastUsedStep };
  const proof = await totpProof(config, me.id, stored, code, occasion.at);
  if (proof?.kind !== "totp") throw invalidMfaCode();
  const backup = newBackupCodes();
  const checked = { sealed, step: proof.step, backupHashes: backup.hashes };
  if (!(await confirmEnrollment(db, me, checked, occasion))) throw invalidMfaCode();
  return c.json({ backup_codes: backup.codes }, 200);
};

/** The password, then the code (a TOTP code or a backup code) of the caller's enabled factor. */
async function proveFactor(c: Context<AppEnv>, body: { password: string; code: string }) {
  const me = c.get("currentUser");
  const { db, config } = c.get("deps");
  const occasion = occasionOf(c);
  if (!me.mfaEnabled) throw factorOff();
  await verifyOwnPassword(c, body.password, occasion);
  const factor = await findFactor(db, me.id);
  if (!factor) throw factorOff();
  const stored = {
    sealed: { ciphertext: factor.secretCiphertext, keyId: factor.keyId },
    lastUsedStep: factor.lastUsedStep,
  };
  const proof = await proofOf(config, me.id, stored, body.code, occasion.at);
  if (!proof) throw invalidMfaCode();
  return { me, db, occasion, proof };
}

export const disableTotp: AppRouteHandler<routes.DisableTotpRoute> = async (c) => {
  const { me, db, occasion, proof } = await proveFactor(c, c.req.valid("json"));
  const outcome = await disableOwnFactor(db, me, proof, occasion);
  if (outcome.done) return c.json({ msg: "Second factor turned off." }, 200);
  // Still on: the code was spent or unknown (a backup code not of this account).
  if (outcome.enabled && !outcome.lockedFor) throw invalidMfaCode();
  throw refusal(outcome, true);
};

export const regenerateBackupCodes: AppRouteHandler<routes.RegenerateBackupCodesRoute> = async (
  c,
) => {
  const { me, db, occasion, proof } = await proveFactor(c, c.req.valid("json"));
  const backup = newBackupCodes();
  const outcome = await replaceBackupCodes(db, me, proof, backup.hashes, occasion);
  if (outcome.done) return c.json({ backup_codes: backup.codes }, 200);
  if (outcome.enabled && !outcome.lockedFor) throw invalidMfaCode();
  throw refusal(outcome, true);
};

/** Guarded by requireAuth and requireAdmin (mfa.index.ts). */
export const clearUserMfa: AppRouteHandler<routes.ClearUserMfaRoute> = async (c) => {
  const me = c.get("currentUser");
  const { username } = c.req.valid("param");
  const { db } = c.get("deps");
  const target = isPlausibleUsername(username) && (await findByUsername(db, username));
  if (!target) throw notFound("user");
  const notAnotherAdmin = () => forbidden("Another ADMIN's second factor cannot be cleared.");
  if (target.role !== "USER" && target.id !== me.id) throw notAnotherAdmin();
  if (await clearFactor(db, target.id, me, occasionOf(c))) {
    return c.json({ msg: "Second factor turned off." }, 200);
  }
  // Promoted, or deleted, meanwhile.
  if (await findByUsername(db, username)) throw notAnotherAdmin();
  throw notFound("user");
};

export const loginMfa: AppRouteHandler<routes.LoginMfaRoute> = async (c) => {
  const pair = await completeMfaLogin(c.get("deps"), c.req.valid("json"), occasionOf(c));
  return c.json(pair, 200);
};
