import { mkdirSync } from "node:fs";
import { defineConfig } from "drizzle-kit";
import { envSchema } from "./src/config";
import { openPgliteWithExtensionsInDrizzleKit } from "./src/node/drizzle-kit-pglite";
import { loadEnvFile } from "./src/node/env-file";

// drizzle-kit (migrate, generate, check, studio) works on the database the app would use:
// DATABASE_URL when it is set, else the embedded PGlite directory. drizzle-kit 0.31 loads .env
// itself (dotenv, the environment first); loading it here too keeps the app's rule whatever
// drizzle-kit does.
loadEnvFile();
const databaseUrl = process.env.DATABASE_URL || undefined;
const pgliteDir = process.env.PGLITE_DIR || envSchema.shape.PGLITE_DIR.parse(undefined);
if (!databaseUrl) {
  // PGlite creates the database directory but not its parents; the app makes them too.
  mkdirSync(pgliteDir, { recursive: true });
  // The migrations create extensions that PGlite loads only when it is opened with them.
  openPgliteWithExtensionsInDrizzleKit();
}

const target = databaseUrl
  ? `Postgres at ${where(databaseUrl)}`
  : `the embedded PGlite database in ${pgliteDir} (DATABASE_URL is unset)`;
console.log(`Database: ${target}`);
// drizzle-kit 0.31 exits 1 without a word when a migration or the connection fails
// (drizzle-team/drizzle-orm#5816): say at least where, and how to see the database's error.
process.once("exit", (code) => {
  if (code !== 0 && process.argv.includes("migrate")) {
    console.error(
      `drizzle-kit migrate failed on ${target}; it may not say why. ` +
        "`npm run db:migrate` applies the same migrations and prints the error.",
    );
  }
});

export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema.ts",
  out: "./drizzle",
  ...(databaseUrl
    ? { dbCredentials: { url: databaseUrl } }
    : { driver: "pglite", dbCredentials: { url: pgliteDir } }),
});

/** Host, port and database of a connection string, never its password. */
function where(url: string) {
  const { hostname, port, pathname } = new URL(url);
  return `${hostname}:${port || 5432}${pathname}`;
}
