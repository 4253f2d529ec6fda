import { afterAll, beforeAll, describe } from "vitest";
import type { ContractApi } from "../support/contract-api";
import { oversizedBodiesKeepTheConnection } from "../support/refused-uploads";
import { createWorkerApi } from "../support/worker-api";

// workerd closes (resets) a connection whose request body the Worker did not read to its end,
// without saying so: the Worker reads an oversized body up to 1 MiB before refusing it. A larger
// one is refused unread and its connection is reset; workerd drops a Connection header the Worker
// sets, so that cannot be announced (docs/workers.md, "Workers limits that matter").
let api: ContractApi & { url: URL };
beforeAll(async () => {
  api = await createWorkerApi();
});
afterAll(() => api?.close());

describe("a refused upload on a keep-alive connection (Worker)", () => {
  oversizedBodiesKeepTheConnection(() => ({ url: api.url, db: api.db }));
});
