import type { Context } from "hono";
import type { AppEnv, Deps } from "../deps";
import { logBackgroundFailure } from "../log/log-background";
import { recordMailFailure, recordMailSuccess } from "./delivery.store";
import type { MailMessage } from "./mailer";
import { type MailFacts, type MailKind, valuesOf } from "./templates/kinds";
import { pickLanguage } from "./templates/language";
import { escapeHtml, render } from "./templates/syntax";
import { builtInTemplates } from "./templates/template-set";

export type { MailFacts, MailKind } from "./templates/kinds";

/** What the log may say about a composed message: never its address, text or link. */
const composed = new WeakMap<MailMessage, { kind: MailKind; language: string }>();

/**
 * The message of `kind` for `to`, from the operator's templates (Deps.mailTemplates) or the
 * built-in English ones. The language is the account's (`accountLanguage`, an Accept-Language
 * value) when a template serves it, else the request's Accept-Language, else English.
 */
export function composeMail(
  c: Context<AppEnv>,
  kind: MailKind,
  to: string,
  facts: MailFacts,
  accountLanguage?: string | null,
): MailMessage {
  const templates = c.get("deps").mailTemplates ?? builtInTemplates;
  const header = c.req.header("accept-language");
  const language = pickLanguage(templates.languages(kind), accountLanguage, header);
  const template = templates.message(kind, language);
  const values = valuesOf(facts);
  const message = {
    to,
    subject: render(template.subject, values),
    text: render(template.text, values),
    html: render(template.html, values, escapeHtml),
  };
  composed.set(message, { kind, language });
  return message;
}

/**
 * Queues `message` to be sent once the response is out: its cost must not show in the timing. A
 * failure is logged with the request's id and recorded for /ready; nothing is written to the
 * database for a request that sends no mail.
 */
export function sendAfterResponse(c: Context<AppEnv>, message: MailMessage): void {
  const deps = c.get("deps");
  const about = { request_id: c.get("requestId"), ...composed.get(message) };
  const sending = new Promise((later) => setTimeout(later, 0)).then(() =>
    deps.mailer.send(message),
  );
  deps.defer(
    sending.then(
      () => noteSuccess(deps),
      async (error: unknown) => {
        logBackgroundFailure(error, "mail send failed", about);
        lastRecorded.set(deps.config, { failed: true, at: 0 });
        await recordMailFailure(deps.db, deps.clock.now());
      },
    ),
  );
}

// A success is written at most once a minute per process (per isolate on Workers), or right after
// this process recorded a failure: successes are the common case and need not cost a statement
// each. So "failing" can outlast a recovery by up to a minute when another isolate saw the failure.
const SUCCESS_RECORD_INTERVAL_MS = 60_000;
const lastRecorded = new WeakMap<Deps["config"], { failed: boolean; at: number }>();

async function noteSuccess(deps: Deps) {
  const now = deps.clock.now().getTime();
  const last = lastRecorded.get(deps.config);
  if (last && !last.failed && now - last.at < SUCCESS_RECORD_INTERVAL_MS) return;
  lastRecorded.set(deps.config, { failed: false, at: now });
  await recordMailSuccess(deps.db, new Date(now));
}
