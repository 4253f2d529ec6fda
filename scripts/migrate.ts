import { loadConfigOrExit } from "../src/node/config";
import { openDatabase } from "../src/node/database";

// Applies drizzle/ to DATABASE_URL (or to the embedded database when it is unset).
const config = loadConfigOrExit(process.env, { warn: false });
const database = await openDatabase(config);
try {
  await database.migrate();
  console.log(
    `Migrations applied (${database.kind === "postgres" ? "DATABASE_URL" : config.pgliteDir}).`,
  );
} finally {
  await database.close();
}
