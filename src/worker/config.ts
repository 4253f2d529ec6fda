import type { Hyperdrive } from "@cloudflare/workers-types/latest/index.ts";
import { type Config, ConfigError, loadConfig } from "../config";

/** The Worker's bindings: Hyperdrive, secrets (`wrangler secret`, `.dev.vars`) and [vars]. */
export type WorkerEnv = {
  HYPERDRIVE?: Pick<Hyperdrive, "connectionString">;
  JWT_SECRET_KEY?: string;
} & Record<string, unknown>;

const loaded = new WeakMap<object, Config>();

/**
 * Validates the bindings once per isolate. Unlike Node, a missing JWT_SECRET_KEY is an error in
 * every NODE_ENV: a key generated per isolate would make tokens fail whenever a request lands on
 * another isolate, which on Workers is any time.
 */
export function workerConfig(env: WorkerEnv): Config {
  const cached = loaded.get(env);
  if (cached) return cached;

  const missing: string[] = [];
  if (typeof env.HYPERDRIVE?.connectionString !== "string") {
    missing.push(
      'HYPERDRIVE: binding missing; add a [[hyperdrive]] binding named "HYPERDRIVE" to wrangler.toml',
    );
  }
  if (!env.JWT_SECRET_KEY) {
    missing.push(
      "JWT_SECRET_KEY: secret missing; set it with `wrangler secret put JWT_SECRET_KEY` (locally: .dev.vars)",
    );
  }
  if (missing.length > 0)
    throw new ConfigError(`Invalid configuration:\n  ${missing.join("\n  ")}`);

  const { config, warnings } = loadConfig(env);
  if (config.trustProxy !== 0) {
    warnings.push("TRUST_PROXY is ignored on Workers: the client address is CF-Connecting-IP.");
  }
  for (const warning of warnings) console.warn(`warning: ${warning}`);
  // Cloudflare sets CF-Connecting-IP itself; X-Forwarded-For may carry what the client wrote.
  const workerOnly: Config = { ...config, trustProxy: 0 };
  loaded.set(env, workerOnly);
  return workerOnly;
}
