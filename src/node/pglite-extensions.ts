import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";

/**
 * The extensions the migrations create (drizzle/0003_user_search.sql: pg_trgm). PGlite ships
 * them but can only create or use one it was opened with, so every PGlite on the app's data opens
 * with these: the app's (src/node/database.ts) and drizzle-kit's (src/node/drizzle-kit-pglite.ts).
 */
export const PGLITE_EXTENSIONS = { pg_trgm };
