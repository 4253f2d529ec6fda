import { z } from "zod";

/** Raised when the environment is invalid; the message names the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const seconds = (fallback: number) =>
  z.coerce.number().int().positive().max(31_536_000).default(fallback);

/** `<count>/<seconds>` or `off`. */
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

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  PGLITE_DIR: z.string().min(1).default(".data/pglite"),
  JWT_SECRET_KEY: z.string().min(32, "must be at least 32 characters").optional(),
  ACCESS_TOKEN_TTL: seconds(900),
  RESET_TOKEN_TTL: seconds(1800),
  APP_URL: z.url().default("http://localhost:8787/reset-password?token="),
  MAIL_FROM: z.string().min(3).default("User API <no-reply@example.com>"),
  RESEND_API_KEY: z.string().min(1).optional(),
  RESEND_BASE_URL: z.url().optional(),
  CORS_ORIGINS: z.string().default(""),
  PORT: z.coerce.number().int().min(1).max(65535).default(8787),
  EXPOSE_RESET_TOKEN: flag,
  REFRESH_TOKEN_TTL: seconds(2_592_000),
  REFRESH_REUSE_GRACE: z.coerce.number().int().min(0).max(3600).default(10),
  LOGIN_LOCKOUT_THRESHOLD: z.coerce.number().int().min(1).max(1000).default(5),
  LOGIN_LOCKOUT_BASE: seconds(60),
  RESET_EMAIL_INTERVAL: z.coerce.number().int().min(0).max(86_400).default(60),
  RATE_LIMIT_LOGIN: rateLimit("20/60"),
  RATE_LIMIT_REGISTER: rateLimit("10/60"),
  RATE_LIMIT_FORGET_PASSWORD: rateLimit("5/60"),
  RATE_LIMIT_RESET_PASSWORD: rateLimit("10/60"),
  RATE_LIMIT_REFRESH: rateLimit("60/60"),
  TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  HASH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  HASH_QUEUE_TIMEOUT_MS: z.coerce.number().int().min(0).max(30_000).default(1000),
});

export type RateLimitRule = { count: number; seconds: number };
export type RateLimitedRoute =
  | "LOGIN"
  | "REGISTER"
  | "FORGET_PASSWORD"
  | "RESET_PASSWORD"
  | "REFRESH";

export type Config = {
  nodeEnv: "development" | "test" | "production";
  databaseUrl?: string;
  pgliteDir: string;
  jwtSecret: string;
  accessTokenTtl: number;
  resetTokenTtl: number;
  appUrl: string;
  mailFrom: string;
  resendApiKey?: string;
  resendBaseUrl?: string;
  corsOrigins: string[];
  port: number;
  exposeResetToken: boolean;
  refreshTokenTtl: number;
  refreshReuseGrace: number;
  lockout: { threshold: number; baseSeconds: number };
  resetEmailInterval: number;
  /** Per client IP and route; null is `off`. */
  rateLimits: Record<RateLimitedRoute, RateLimitRule | null>;
  /** How many proxy hops in X-Forwarded-For to trust (0: use the socket address). */
  trustProxy: number;
  /** argon2 runs at most this many at once; others wait up to hashQueueTimeoutMs, then 503. */
  hashConcurrency: number;
  hashQueueTimeoutMs: number;
};

export type LoadedConfig = { config: Config; warnings: string[] };

/** Validates the environment (process.env on Node, bindings on Workers) into a Config. */
export function loadConfig(env: Record<string, unknown>): LoadedConfig {
  // Empty strings mean "unset", as they do in most .env files.
  const raw = Object.fromEntries(
    Object.keys(envSchema.shape).map((k) => [k, env[k] === "" ? undefined : env[k]]),
  );
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join("\n  ")}`);
  }
  const e = parsed.data;
  const warnings: string[] = [];
  const production = e.NODE_ENV === "production";

  if (production && e.EXPOSE_RESET_TOKEN) {
    throw new ConfigError("EXPOSE_RESET_TOKEN: must not be enabled when NODE_ENV=production");
  }
  let jwtSecret = e.JWT_SECRET_KEY;
  if (!jwtSecret) {
    if (production) {
      throw new ConfigError(
        "JWT_SECRET_KEY: required when NODE_ENV=production (at least 32 random characters)",
      );
    }
    jwtSecret = randomSecret();
    warnings.push(
      "JWT_SECRET_KEY is not set: using a random key for this process; tokens will not survive a restart.",
    );
  }
  if (e.EXPOSE_RESET_TOKEN) {
    warnings.push(
      "EXPOSE_RESET_TOKEN=true: reset tokens are returned in responses (development only).",
    );
  }

  return {
    warnings,
    config: {
      nodeEnv: e.NODE_ENV,
      databaseUrl: e.DATABASE_URL,
      pgliteDir: e.PGLITE_DIR,
      jwtSecret,
      accessTokenTtl: e.ACCESS_TOKEN_TTL,
      resetTokenTtl: e.RESET_TOKEN_TTL,
      appUrl: e.APP_URL,
      mailFrom: e.MAIL_FROM,
      resendApiKey: e.RESEND_API_KEY,
      resendBaseUrl: e.RESEND_BASE_URL,
      corsOrigins: e.CORS_ORIGINS.split(",")
        .map((o) => o.trim())
        .filter(Boolean),
      port: e.PORT,
      exposeResetToken: e.EXPOSE_RESET_TOKEN,
      refreshTokenTtl: e.REFRESH_TOKEN_TTL,
      refreshReuseGrace: e.REFRESH_REUSE_GRACE,
      lockout: { threshold: e.LOGIN_LOCKOUT_THRESHOLD, baseSeconds: e.LOGIN_LOCKOUT_BASE },
      resetEmailInterval: e.RESET_EMAIL_INTERVAL,
      rateLimits: {
        LOGIN: e.RATE_LIMIT_LOGIN,
        REGISTER: e.RATE_LIMIT_REGISTER,
        FORGET_PASSWORD: e.RATE_LIMIT_FORGET_PASSWORD,
        RESET_PASSWORD: e.RATE_LIMIT_RESET_PASSWORD,
        REFRESH: e.RATE_LIMIT_REFRESH,
      },
      trustProxy: e.TRUST_PROXY,
      hashConcurrency: e.HASH_CONCURRENCY,
      hashQueueTimeoutMs: e.HASH_QUEUE_TIMEOUT_MS,
    },
  };
}

function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes));
}
