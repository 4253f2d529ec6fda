import { serve } from "@hono/node-server";
import { createApp } from "./app";
import { loadConfigOrExit } from "./node/config";
import { createNodeDeps } from "./node/deps";
import { loadEnvFile } from "./node/env-file";
import { startPruneJob } from "./node/prune-job";

loadEnvFile();
const config = loadConfigOrExit(process.env);
const { deps, database } = await createNodeDeps(config);
const app = createApp(() => deps);
const stopPruning = startPruneJob(deps);
const where = database.kind === "pglite" ? `embedded PGlite in ${config.pgliteDir}` : "Postgres";

const server = serve({ fetch: app.fetch, port: config.port }, (info) => {
  console.log(`User API on http://localhost:${info.port} (Swagger UI: /doc), database: ${where}`);
});

const shutdown = () => {
  server.close();
  void stopPruning()
    .then(() => database.close())
    .finally(() => process.exit(0));
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
