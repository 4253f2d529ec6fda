import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { describe, expect, it } from "vitest";
import { SECURITY_HEADERS } from "../../src/middleware/security-headers";

// That every response carries them, on every runtime: tests/contract/http-headers.test.ts.

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
});
