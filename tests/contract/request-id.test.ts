import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { notFound } from "../../src/errors";
import { type ContractApi, startApi } from "../support/contract-api";

let api: ContractApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const healthWithId = (id: string) => api.request("/health", { headers: { "X-Request-Id": id } });

describe("X-Request-Id", () => {
  it.each([
    ["letters, digits, _ - =", "Trace_0123-abc=="],
    ["one character", "a"],
    ["64 characters", "x".repeat(64)],
  ])("a client's id of %s is echoed", async (_label, id) => {
    const res = await healthWithId(id);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe(id);
  });

  it.each([
    ["65 characters", "x".repeat(65)],
    ["255 characters", "y".repeat(255)],
    ["a space", "abc def"],
    ["a double quote", 'abc"def'],
    ["a single quote", "abc'def"],
    ["a semicolon", "abc;def"],
    ["angle brackets", "<script>"],
    ["a slash", "../../etc"],
    ["a character outside ASCII", "caf\u00e9"],
    ["a tab", "abc\tdef"],
  ])("a client's id with %s is replaced by a generated UUID", async (_label, id) => {
    const res = await healthWithId(id);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toMatch(UUID);
  });

  it("a request without one gets a generated UUID, a new one each time", async () => {
    const [first, second] = await Promise.all([api.request("/health"), api.request("/health")]);
    expect(first?.headers.get("x-request-id")).toMatch(UUID);
    expect(second?.headers.get("x-request-id")).toMatch(UUID);
    expect(first?.headers.get("x-request-id")).not.toBe(second?.headers.get("x-request-id"));
  });

  it("error responses carry it too", async () => {
    const res = await api.request("/no/such/path", { headers: { "X-Request-Id": "err-42" } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual(notFound().body);
    expect(res.headers.get("x-request-id")).toBe("err-42");
  });
});
