import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECURITY_HEADERS } from "../../src/middleware/security-headers";
import { type ContractApi, startApi } from "../support/contract-api";

const ALLOWED = "https://app.example.test";
const ALSO_ALLOWED = "https://admin.example.test";
const FOREIGN = "https://elsewhere.example.test";

let api: ContractApi;
beforeAll(async () => {
  api = await startApi({ env: { CORS_ORIGINS: `${ALLOWED}, ${ALSO_ALLOWED}` } });
});
afterAll(() => api.close());

const preflight = (origin: string) =>
  api.request("/api/user/login", {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization,content-type",
    },
  });

/** A header's comma-separated values, lower-cased. */
const listed = (res: Response, name: string) =>
  (res.headers.get(name) ?? "")
    .split(",")
    .map((v) => v.trim().toLowerCase())
    .filter(Boolean);

describe("CORS_ORIGINS", () => {
  it.each([ALLOWED, ALSO_ALLOWED])(
    "a request from %s gets it back as the allowed origin",
    async (origin) => {
      const res = await api.request("/health", { headers: { origin } });
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe(origin);
      expect(listed(res, "vary")).toContain("origin");
    },
  );

  it("a request from any other origin is answered without Access-Control-Allow-Origin", async () => {
    const res = await api.request("/health", { headers: { origin: FOREIGN } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("a preflight from a listed origin allows POST with Authorization and Content-Type", async () => {
    const res = await preflight(ALLOWED);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(listed(res, "access-control-allow-methods")).toContain("post");
    expect(listed(res, "access-control-allow-headers")).toEqual(
      expect.arrayContaining(["authorization", "content-type"]),
    );
  });

  it("a preflight from any other origin is not allowed", async () => {
    const res = await preflight(FOREIGN);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("security headers", () => {
  it.each([
    ["a success", "/health"],
    ["an error the handler throws", "/api/user/nobody"],
    ["an unknown path", "/no/such/path"],
    ["the Swagger UI page", "/doc"],
  ])("are on %s", async (_label, path) => {
    const res = await api.request(path);
    for (const [name, value] of SECURITY_HEADERS) expect(res.headers.get(name), name).toBe(value);
  });
});
