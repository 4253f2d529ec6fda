import { ConfigError, loadConfig } from "../config";

/** Validates the environment or exits with a message naming the bad variable. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv, options: { warn?: boolean } = {}) {
  try {
    const loaded = loadConfig(env);
    if (options.warn ?? true)
      for (const warning of loaded.warnings) console.warn(`warning: ${warning}`);
    return loaded.config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
