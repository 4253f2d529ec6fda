import { serve } from "@hono/node-server";
import { createApp } from "./app";
import { loadConfigOrExit } from "./node/config";
import { connectionRules } from "./node/connection-rules";
import { createNodeDeps } from "./node/deps";

const config = loadConfigOrExit(process.env);
const { deps, database } = await createNodeDeps(config);
const app = createApp(() => deps);
const connections = connectionRules(app.fetch);
const where = database.kind === "pglite" ? `embedded PGlite in ${config.pgliteDir}` : "Postgres";

const server = serve({ fetch: connections.fetch, port: config.port }, (info) => {
  console.log(`User API on http://localhost:${info.port} (Swagger UI: /doc), database: ${where}`);
});

const shutdown = () => {
  server.close();
  void database.close().finally(() => process.exit(0));
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
