import type { Hyperdrive } from "@cloudflare/workers-types/latest/index.ts";
import { z } from "zod";
import { type Config, envSchema, loadConfig } from "../config";

/**
 * The Worker's variables: the shared ones, its Hyperdrive binding, and JWT_SECRET_KEY and
 * MFA_ENCRYPTION_KEY in every NODE_ENV (unlike Node): a key generated per isolate would make tokens
 * fail, and second factors unreadable, whenever a request lands on another isolate, which on
 * Workers is any time. In production APP_URL too: without it
 * reset links take the request's origin, and behind a wildcard route or a forwarding proxy the
 * client's Host would choose where the mailed token goes; EMAIL_VERIFY_URL likewise.
 */
const workerEnvSchema = envSchema
  .extend({
    HYPERDRIVE: z.custom<Pick<Hyperdrive, "connectionString">>(
      (binding) =>
        typeof (binding as { connectionString?: unknown })?.connectionString === "string",
      'binding missing; add a [[hyperdrive]] binding named "HYPERDRIVE" to wrangler.toml',
    ),
    JWT_SECRET_KEY: envSchema.shape.JWT_SECRET_KEY.nonoptional(
      "secret missing; set it with `wrangler secret put JWT_SECRET_KEY` (locally: .dev.vars)",
    ),
    MFA_ENCRYPTION_KEY: envSchema.shape.MFA_ENCRYPTION_KEY.nonoptional(
      "secret missing; set it with `wrangler secret put MFA_ENCRYPTION_KEY` (32 random bytes in base64: `openssl rand -base64 32`; locally: .dev.vars)",
    ),
  })
  .superRefine((vars, ctx) => {
    if (vars.NODE_ENV === "production" && vars.APP_URL === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["APP_URL"],
        message:
          "required on Workers when NODE_ENV=production (reset links must not follow the request's Host); " +
          'set it in wrangler.toml [vars], e.g. "https://<your domain>/reset-password?token="',
      });
    }
    if (vars.NODE_ENV === "production" && vars.EMAIL_VERIFY_URL === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["EMAIL_VERIFY_URL"],
        message:
          "required on Workers when NODE_ENV=production (verification links must not follow the request's Host); " +
          'set it in wrangler.toml [vars], e.g. "https://<your domain>/verify-email?token="',
      });
    }
  });

/** The Worker's bindings: Hyperdrive, secrets (`wrangler secret`, `.dev.vars`) and [vars]. */
export type WorkerEnv = Partial<
  Pick<z.output<typeof workerEnvSchema>, "HYPERDRIVE" | "JWT_SECRET_KEY">
> &
  Record<string, unknown>;

const loaded = new WeakMap<object, Config>();

/** Validates the bindings once per bindings object (once per isolate). */
export function workerConfig(env: WorkerEnv): Config {
  const cached = loaded.get(env);
  if (cached) return cached;

  const { config, warnings } = loadConfig(env, workerEnvSchema);
  if (config.trustProxy !== 0) {
    warnings.push("TRUST_PROXY is ignored on Workers: the client address is CF-Connecting-IP.");
  }
  if (config.mailTemplatesDir !== undefined) {
    warnings.push(
      "MAIL_TEMPLATES_DIR is read when the Worker is built (npm run deploy), not at run time.",
    );
  }
  for (const warning of warnings) console.warn(`warning: ${warning}`);
  // Cloudflare sets CF-Connecting-IP itself; X-Forwarded-For may carry what the client wrote.
  const workerOnly: Config = { ...config, trustProxy: 0 };
  loaded.set(env, workerOnly);
  return workerOnly;
}
