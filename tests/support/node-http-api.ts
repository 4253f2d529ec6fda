import type { ContractApi, StartOptions } from "./contract-api";
import { createTestDatabase, type TestDatabase } from "./database";
import { startFakeResend } from "./fake-resend";
import { httpContractApi } from "./http-api";
import { startNodeServer } from "./node-server";
import { testEnv } from "./test-env";

/**
 * The Node server as users start it (`npm start`: the compiled src/node.ts in its own process)
 * with its real parts: native argon2, postgres.js on the test file's own Postgres database, and
 * mail through the Resend SDK to a fake Resend; reached over HTTP with keep-alive.
 */
export async function createNodeHttpApi(
  options: StartOptions = {},
): Promise<ContractApi & { database: TestDatabase }> {
  // The server is another process: it needs a database server, not an in-memory PGlite.
  const database = options.database ?? (await createTestDatabase({ needsServer: true }));
  const resend = await startFakeResend();
  try {
    const server = await startNodeServer(
      testEnv({
        DATABASE_URL: database.url as string,
        RESEND_API_KEY: "re_test_node",
        RESEND_BASE_URL: resend.url,
        ...options.env,
      }),
      // A tail for error messages: the access-log files log every request.
      { outputKept: 64 * 1024 },
    );
    const api = httpContractApi({ base: server.url, database, resend, stop: server.stop });
    // Without APP_URL the server links its reset emails to http://localhost:<port>, the name it
    // announces itself by; a browser must see the same origin to follow them.
    const browserBase = new URL(server.url);
    browserBase.hostname = "localhost";
    return { ...api, baseUrl: async () => browserBase.origin };
  } catch (error) {
    await Promise.allSettled([resend.close(), database.drop()]);
    throw error;
  }
}
