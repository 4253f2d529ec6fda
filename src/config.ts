import { z } from "zod";
import { weakSecretReason } from "./auth/secret-strength";
import { type SigningJwk, signingKeySet } from "./auth/signing-keys";
import { randomToken } from "./auth/tokens";
import { type MfaKey, mfaKeyText, mfaOldKeys, randomMfaKey } from "./mfa/mfa-keys";

/** Raised when the environment is invalid; the message names the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export type RateLimitRule = { count: number; seconds: number };

/** The routes limited per client IP, each by its RATE_LIMIT_<ROUTE> variable, and its default. */
const rateLimitDefaults = {
  LOGIN: "20/60",
  REGISTER: "10/60",
  FORGET_PASSWORD: "5/60",
  RESET_PASSWORD: "10/60",
  REFRESH: "60/60",
  VERIFY_EMAIL: "5/60",
  LOGIN_MFA: "20/60",
} as const;
export type RateLimitedRoute = keyof typeof rateLimitDefaults;
export const rateLimitedRoutes = Object.keys(rateLimitDefaults) as RateLimitedRoute[];

const seconds = (fallback: number) =>
  z.coerce.number().int().positive().max(31_536_000).default(fallback);

/** `<count>/<seconds>` or `off` (null). */
const rateLimit = (fallback: string) =>
  z
    .string()
    .regex(/^(off|[1-9]\d{0,5}\/[1-9]\d{0,5})$/, "must be <count>/<seconds> or off")
    .default(fallback)
    .transform((v): RateLimitRule | null => {
      if (v === "off") return null;
      const [count, seconds] = v.split("/").map(Number) as [number, number];
      return { count, seconds };
    });

const flag = z
  .enum(["true", "false", "1", "0", ""])
  .default("false")
  .transform((v) => v === "true" || v === "1");

/**
 * The variables that become the Config field of their name in camelCase (ACCESS_TOKEN_TTL:
 * accessTokenTtl), so a new setting is one line here.
 */
const plainVars = {
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  PGLITE_DIR: z.string().min(1).default(".data/pglite"),
  ACCESS_TOKEN_TTL: seconds(900),
  // Ed25519 private JWKs (the first signs, all verify): EdDSA access tokens and a JWKS. Unset:
  // HS256 with JWT_SECRET_KEY, and an empty JWKS.
  JWT_SIGNING_KEYS: signingKeySet.default(Object.freeze([]) as readonly SigningJwk[]),
  RESET_TOKEN_TTL: seconds(1800),
  // The reset link is APP_URL + token. Unset: this server's /reset-password page, on Node at
  // http://localhost:PORT (src/node/config.ts), on Workers at the request's origin (outside
  // production only: src/worker/config.ts).
  APP_URL: z.url().optional(),
  // The verification link (registration, POST /api/me/verify_email, an email change) is
  // EMAIL_VERIFY_URL + token. Unset: this server's /verify-email page, by the same rule as APP_URL
  // (src/node/config.ts, src/worker/config.ts).
  EMAIL_VERIFY_URL: z.url().optional(),
  EMAIL_VERIFY_TTL: seconds(86_400),
  // When on, the right password of an account whose email is unverified is 403 EMAIL_NOT_VERIFIED.
  REQUIRE_VERIFIED_EMAIL: flag,
  MAIL_FROM: z.string().min(3).default("User API <no-reply@example.com>"),
  // Node: a directory of mail templates, read once at start. Workers: read by the build
  // (scripts/build-mail-templates.ts), ignored at run time. See docs/mail.md.
  MAIL_TEMPLATES_DIR: z.string().min(1).optional(),
  RESEND_API_KEY: z.string().min(1).optional(),
  RESEND_BASE_URL: z.url().optional(),
  CORS_ORIGINS: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean),
    ),
  PORT: z.coerce.number().int().min(1).max(65535).default(8787),
  EXPOSE_RESET_TOKEN: flag,
  REFRESH_TOKEN_TTL: seconds(2_592_000),
  REFRESH_REUSE_GRACE: z.coerce.number().int().min(0).max(3600).default(10),
  RESET_EMAIL_INTERVAL: z.coerce.number().int().min(0).max(86_400).default(60),
  // How many proxy hops in X-Forwarded-For to trust (0: use the socket address).
  TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  // argon2 runs at most this many at once; others wait up to HASH_QUEUE_TIMEOUT_MS, then 503.
  // By default one per core: more only interleaves the same work, holds 19 MiB more each and
  // starves the event loop (see bench/README.md and bench/results/latest.md).
  HASH_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(Math.min(64, Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 4))),
  HASH_QUEUE_TIMEOUT_MS: z.coerce.number().int().min(0).max(30_000).default(1000),
  // Node: how often the process prunes stale rows (0: never). Workers: wrangler.toml's cron.
  PRUNE_INTERVAL_MS: z.coerce.number().int().min(0).max(86_400_000).default(3_600_000),
  // One JSON line per request on stdout (src/middleware/access-log.ts).
  ACCESS_LOG: z
    .enum(["on", "off"])
    .default("on")
    .transform((v) => v === "on"),
  // The issuer an authenticator app shows beside the account (otpauth URI); no ':' (the URI's
  // separator of issuer and account).
  MFA_ISSUER: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[^:]+$/, "must not contain ':'")
    .default("User API"),
  // How long the mfa_token of a login's password step lasts.
  MFA_TOKEN_TTL: z.coerce.number().int().min(30).max(3600).default(300),
  // Node: on SIGTERM/SIGINT, how long requests in flight and mail get to finish before they are cut.
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(60_000).default(8000),
};
type PlainVar = keyof typeof plainVars;
const plainNames = Object.keys(plainVars) as PlainVar[];

const rateLimitVars = Object.fromEntries(
  rateLimitedRoutes.map((route) => [`RATE_LIMIT_${route}`, rateLimit(rateLimitDefaults[route])]),
) as { [R in RateLimitedRoute as `RATE_LIMIT_${R}`]: ReturnType<typeof rateLimit> };

/** Every variable and its rule. The Worker extends it with its own (src/worker/config.ts). */
export const envSchema = z.object({
  ...plainVars,
  // The rest are renamed or grouped by toConfig.
  JWT_SECRET_KEY: z.string().min(32, "must be at least 32 characters").optional(),
  // AES-256-GCM key of the TOTP secrets; old keys only decrypt (docs/api.md, key rotation).
  MFA_ENCRYPTION_KEY: mfaKeyText.optional(),
  MFA_OLD_ENCRYPTION_KEYS: mfaOldKeys.default([]),
  LOGIN_LOCKOUT_THRESHOLD: z.coerce.number().int().min(1).max(1000).default(5),
  LOGIN_LOCKOUT_BASE: seconds(60),
  ...rateLimitVars,
});
type Vars = z.output<typeof envSchema>;
// Mapped over as is, so optional variables stay optional fields.
type PlainVars = Pick<Vars, PlainVar>;

/** Rules across variables; zod runs them only once every variable is valid. */
function productionRules(vars: Vars, ctx: z.RefinementCtx<Vars>) {
  if (vars.NODE_ENV !== "production") return;
  const refuse = (name: keyof Vars, message: string) =>
    ctx.addIssue({ code: "custom", path: [name], message });
  if (vars.EXPOSE_RESET_TOKEN) {
    refuse("EXPOSE_RESET_TOKEN", "must not be enabled when NODE_ENV=production");
  }
  if (!vars.MFA_ENCRYPTION_KEY) {
    refuse(
      "MFA_ENCRYPTION_KEY",
      "required when NODE_ENV=production (32 random bytes in base64: `openssl rand -base64 32`)",
    );
  }
  if (!vars.JWT_SECRET_KEY) {
    refuse("JWT_SECRET_KEY", "required when NODE_ENV=production (at least 32 random characters)");
    return;
  }
  const weakness = weakSecretReason(vars.JWT_SECRET_KEY);
  if (weakness) {
    refuse(
      "JWT_SECRET_KEY",
      `too weak for NODE_ENV=production: ${weakness}; use 32 random bytes, e.g. \`openssl rand -base64 32\``,
    );
  }
}

type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Lowercase<Head>}${Capitalize<CamelCase<Tail>>}`
  : Lowercase<S>;
const camelCase = (name: string) =>
  name.toLowerCase().replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());

function toConfig(vars: Vars) {
  const plain = Object.fromEntries(plainNames.map((name) => [camelCase(name), vars[name]]));
  return {
    ...(plain as { [K in keyof PlainVars as CamelCase<K>]: PlainVars[K] }),
    // Only outside production (see productionRules): tokens then die with the process.
    jwtSecret: vars.JWT_SECRET_KEY ?? randomToken(),
    // Only outside production (see productionRules): enrolled factors then die with the process.
    mfaKeys: [vars.MFA_ENCRYPTION_KEY ?? randomMfaKey(), ...vars.MFA_OLD_ENCRYPTION_KEYS] as [
      MfaKey,
      ...MfaKey[],
    ],
    lockout: { threshold: vars.LOGIN_LOCKOUT_THRESHOLD, baseSeconds: vars.LOGIN_LOCKOUT_BASE },
    // Per client IP and route; null is `off`.
    rateLimits: Object.fromEntries(
      rateLimitedRoutes.map((route) => [route, vars[`RATE_LIMIT_${route}`]]),
    ) as Record<RateLimitedRoute, RateLimitRule | null>,
  };
}

/** The variables (envSchema or an extension of it) through to the Config. */
const configFrom = (vars: z.ZodType<Vars>) => vars.superRefine(productionRules).transform(toConfig);

export const configSchema = configFrom(envSchema);
export type Config = z.output<typeof configSchema>;
export type LoadedConfig = { config: Config; warnings: string[] };

/**
 * Validates the environment (process.env on Node, bindings on Workers) into a Config. `vars` is
 * envSchema, or the Worker's extension of it.
 */
export function loadConfig(
  env: Record<string, unknown>,
  vars: z.ZodType<Vars> & { shape: object } = envSchema,
): LoadedConfig {
  // Empty strings mean "unset", as they do in most .env files.
  const raw = Object.fromEntries(
    Object.keys(vars.shape).map((k) => [k, env[k] === "" ? undefined : env[k]]),
  );
  const parsed = configFrom(vars).safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join("\n  ")}`);
  }
  const config = parsed.data;
  const warnings: string[] = [];
  if (raw.JWT_SECRET_KEY === undefined) {
    warnings.push(
      "JWT_SECRET_KEY is not set: using a random key for this process; tokens will not survive a restart.",
    );
  }
  if (raw.MFA_ENCRYPTION_KEY === undefined) {
    warnings.push(
      "MFA_ENCRYPTION_KEY is not set: using a random key for this process; second factors enrolled now will not survive a restart.",
    );
  }
  if (config.exposeResetToken) {
    warnings.push(
      "EXPOSE_RESET_TOKEN=true: reset tokens are returned in responses (development only).",
    );
  }
  return { config, warnings };
}
