import { type Config, ConfigError, loadConfig } from "../config";
import { resetPageUrl } from "../routes/pages/reset-page";
import { verifyPageUrl } from "../routes/pages/verify-page";

/** Validates the environment or exits with a message naming the bad variable. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv, options: { warn?: boolean } = {}) {
  try {
    const loaded = loadConfig(env);
    if (options.warn ?? true)
      for (const warning of loaded.warnings) console.warn(`warning: ${warning}`);
    return withNodeDefaults(loaded.config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

/**
 * APP_URL defaults to the reset page (EMAIL_VERIFY_URL to the verification page) of this server on the port it listens on: a fixed address,
 * never one taken from a request's Host header, which the client writes (a forget_password call
 * with a forged Host would otherwise mail the victim a link to the attacker's server).
 */
export const withNodeDefaults = (config: Config): Config => ({
  ...config,
  appUrl: config.appUrl ?? resetPageUrl(`http://localhost:${config.port}`),
  emailVerifyUrl: config.emailVerifyUrl ?? verifyPageUrl(`http://localhost:${config.port}`),
});
