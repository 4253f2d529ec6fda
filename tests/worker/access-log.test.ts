import { afterAll, beforeAll, describe } from "vitest";
import { abortedUploadCases } from "../support/aborted-upload-cases";
import { accessLogCases } from "../support/access-log-cases";
import { createWorkerApi } from "../support/worker-api";

// What the Worker logs through console.*, line by line, as workerd hands it over.
let api: Awaited<ReturnType<typeof createWorkerApi>>;
const logged: string[] = [];
beforeAll(async () => {
  api = await createWorkerApi({
    env: { ACCESS_LOG: "on" },
    onLog: (entry) => logged.push(entry.message),
  });
});
afterAll(() => api?.close());

describe("logs (Worker)", () => {
  const logs = () => ({ url: api.url, db: api.db, logText: () => logged.join("\n") });
  accessLogCases(logs);
  abortedUploadCases(logs);
});
