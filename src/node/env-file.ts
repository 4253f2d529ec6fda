import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";

/**
 * Adds the variables of `.env` in the working directory to `env` when the file exists. A variable
 * already in the environment wins, even an empty one (which the config reads as unset), as with
 * `node --env-file` and dotenv.
 */
export function loadEnvFile(env: NodeJS.ProcessEnv = process.env, path = ".env") {
  if (!existsSync(path)) return;
  for (const [name, value] of Object.entries(parseEnv(readFileSync(path, "utf8")))) {
    if (env[name] === undefined) env[name] = value;
  }
}
