import { systemClock } from "../src/deps";
import { loadConfigOrExit } from "../src/node/config";
import { openDatabaseOrExit } from "../src/node/database";
import { loadEnvFile } from "../src/node/env-file";
import { pruneStaleRows } from "../src/prune";

// Deletes what can no longer matter from DATABASE_URL (or the embedded database when it is
// unset), as the periodic job does, and prints how many rows went.
loadEnvFile();
const config = loadConfigOrExit(process.env, { warn: false });
const database = await openDatabaseOrExit(config);
try {
  const counts = await pruneStaleRows({ db: database.db, config, clock: systemClock });
  const where = database.kind === "postgres" ? "DATABASE_URL" : config.pgliteDir;
  console.log(`Pruned (${where}):`);
  for (const [table, count] of Object.entries(counts)) console.log(`  ${table}: ${count}`);
} finally {
  await database.close();
}
