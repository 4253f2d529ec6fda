import { loadConfigOrExit } from "../src/node/config";
import { openDatabaseOrExit } from "../src/node/database";

// Applies drizzle/ to DATABASE_URL (or to the embedded database when it is unset).
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
