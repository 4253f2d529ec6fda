import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unsupportedMediaType } from "../../src/errors";
import { findByUsername } from "../../src/users/user.store";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { type NodeServer, startNodeServer } from "../support/node-server";
import { rawConnection, rawRequest } from "../support/raw-http";
import {
  expectRefused,
  oversizedBodiesKeepTheConnection,
  oversizedRegistration,
  registerRuns,
} from "../support/refused-uploads";
import { testEnv } from "../support/test-env";

// Over real sockets against the server as `npm start` runs it: how the connection is kept or
// closed is decided by @hono/node-server and Node's HTTP server, which app.request never reaches.
let database: TestDatabase;
let server: NodeServer;
beforeAll(async () => {
  database = await createTestDatabase({ needsServer: true });
  server = await startNodeServer(testEnv({ DATABASE_URL: database.url as string }));
});
afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

describe("a refused upload on a keep-alive connection (Node)", () => {
  oversizedBodiesKeepTheConnection(() => ({ url: server.url, db: database.db }));

  it("a body over 1 MiB is refused unread with Connection: close, the connection closes cleanly, and the next register runs on a new one", async () => {
    const connection = await rawConnection(server.url);
    const { username, body } = oversizedRegistration(4 * 1024 * 1024);
    const request = rawRequest(
      "POST",
      "/api/user/register",
      { "Content-Type": "application/json" },
      body,
    );
    // The body keeps coming while the server answers, as from a client uploading it.
    void connection.write(request);
    const refused = await connection.response();
    await expectRefused(refused, database.db, username);
    expect(refused.headers.connection).toBe("close");
    // Closed in stages: the server's FIN reaches the client before anything could reset it.
    expect((await connection.closed)[0]).toBe("end");
    const next = await rawConnection(server.url);
    try {
      await registerRuns(next, database.db);
    } finally {
      next.destroy();
    }
  });

  it("a 415 for a large body that is not JSON closes the connection the same way", async () => {
    const connection = await rawConnection(server.url);
    const { username, body } = oversizedRegistration(4 * 1024 * 1024);
    void connection.write(
      rawRequest("POST", "/api/user/register", { "Content-Type": "text/plain" }, body),
    );
    const refused = await connection.response();
    expect(refused.status).toBe(415);
    expect(JSON.parse(refused.body)).toEqual(unsupportedMediaType().body);
    expect(refused.headers.connection).toBe("close");
    expect((await connection.closed)[0]).toBe("end");
    expect(await findByUsername(database.db, username)).toBeUndefined();
  });
});
