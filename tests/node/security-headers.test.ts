import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECURITY_HEADERS } from "../../src/middleware/security-headers";
import { createTestApi, type NodeTestApi } from "../support/node-api";

let api: NodeTestApi;
beforeAll(async () => {
  api = await createTestApi();
});
afterAll(() => api.close());

/** What hono/secure-headers sets with its defaults (no Content-Security-Policy). */
async function honoDefaults() {
  const app = new Hono();
  app.use(secureHeaders({ contentSecurityPolicy: undefined }));
  app.get("/", (c) => c.text("ok"));
  const res = await app.request("/");
  return [...res.headers].filter(([name]) => name !== "content-type");
}

describe("security headers", () => {
  it("are exactly hono/secure-headers' defaults", async () => {
    const ours = SECURITY_HEADERS.map(([name, value]) => [name.toLowerCase(), value]);
    expect(ours.sort()).toEqual((await honoDefaults()).sort());
  });

  it.each([
    ["a success", "/health"],
    ["an error the handler throws", "/api/user/nobody"],
    ["an unknown path", "/no/such/path"],
    ["the Swagger UI page", "/doc"],
  ])("are on %s", async (_label, path) => {
    const res = await api.request(path);
    for (const [name, value] of SECURITY_HEADERS) expect(res.headers.get(name)).toBe(value);
  });
});
