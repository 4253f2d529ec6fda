import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import { createApp } from "./app";
import { log } from "./log/log";
import { loadConfigOrExit } from "./node/config";
import { connectionRules } from "./node/connection-rules";
import { createNodeDeps } from "./node/deps";
import { loadEnvFile } from "./node/env-file";
import { installBatchedLog } from "./node/log-sink";
import { isPostgresWriteAfterClose } from "./node/postgres-known-bug";
import { startPruneJob } from "./node/prune-job";
import { closeServer, shutdownOnSignals } from "./node/shutdown";

installBatchedLog();
loadEnvFile();
process.on("uncaughtException", (error) => {
  if (isPostgresWriteAfterClose(error)) {
    log("warn", "postgres.js wrote to a closed connection; ignored", { error: error.message });
    return;
  }
  console.error(error);
  process.exit(1);
});
const config = loadConfigOrExit(process.env);
const { deps, database, background } = await createNodeDeps(config);
const app = createApp(() => deps);
const stopPruning = startPruneJob(deps);
const connections = connectionRules(app.fetch);
const where = database.kind === "pglite" ? `embedded PGlite in ${config.pgliteDir}` : "Postgres";

// An HTTP/1.1 server: serve() makes an http.Server unless told to make another kind.
const server = serve({ fetch: connections.fetch, port: config.port }, (info) => {
  console.log(`User API on http://localhost:${info.port} (Swagger UI: /doc), database: ${where}`);
}) as Server;

shutdownOnSignals(
  {
    // No new connections; the requests in flight are answered (each connection then closes),
    // and the mail they started goes out.
    async drain() {
      connections.stopReusing();
      await closeServer(server);
      await background.settled();
    },
    abort: () => server.closeAllConnections(),
    // The prune job finishes its batch before the pool closes.
    release: () => stopPruning().then(() => database.close()),
  },
  config.shutdownTimeoutMs,
);
