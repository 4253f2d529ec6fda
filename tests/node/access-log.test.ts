import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config";
import { abortedUploadCases } from "../support/aborted-upload-cases";
import { accessLogCases } from "../support/access-log-cases";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { startFakeResend } from "../support/fake-resend";
import { createTestApi } from "../support/node-api";
import { type NodeServer, startNodeServer } from "../support/node-server";
import { testEnv } from "../support/test-env";

// What the server as `npm start` runs it prints, on stdout and stderr.
let database: TestDatabase;
let server: NodeServer;
let resend: Awaited<ReturnType<typeof startFakeResend>>;
beforeAll(async () => {
  database = await createTestDatabase({ needsServer: true });
  // Mail (registering sends some) goes to the fake Resend, not to the console the test reads.
  resend = await startFakeResend();
  server = await startNodeServer(
    testEnv({
      DATABASE_URL: database.url as string,
      ACCESS_LOG: "on",
      RESEND_API_KEY: "re_test_access_log",
      RESEND_BASE_URL: resend.url,
    }),
  );
});
afterAll(async () => {
  await server?.stop();
  await resend?.close();
  await database?.drop();
});

describe("logs (Node)", () => {
  const logged = () => ({
    url: server.url,
    db: database.db,
    logText: () => `${server.stdout()}\n${server.stderr()}`,
  });
  accessLogCases(logged);
  abortedUploadCases(logged);
});

describe("ACCESS_LOG", () => {
  it("is on by default", () => {
    expect(loadConfig({}).config.accessLog).toBe(true);
  });

  it("off silences the request lines", async () => {
    // The app in-process on this file's database (dropped by afterAll).
    const api = await createTestApi({ database, env: { ACCESS_LOG: "off" } });
    const printed = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      expect((await api.request("/health")).status).toBe(200);
      expect(printed).not.toHaveBeenCalled();
    } finally {
      printed.mockRestore();
    }
  });
});
