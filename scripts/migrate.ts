import { loadConfigOrExit } from "../src/node/config";
import { openDatabaseOrExit } from "../src/node/database";
import { loadEnvFile } from "../src/node/env-file";

// Applies drizzle/ to DATABASE_URL (or to the embedded database when it is unset).
loadEnvFile();
const config = loadConfigOrExit(process.env, { warn: false });
const database = await openDatabaseOrExit(config);
try {
  await database.migrate();
  console.log(
    `Migrations applied (${database.kind === "postgres" ? "DATABASE_URL" : config.pgliteDir}).`,
  );
} finally {
  await database.close();
}
