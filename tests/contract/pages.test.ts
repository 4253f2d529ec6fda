import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { notFound } from "../../src/errors";
import { type ContractApi, startApi } from "../support/contract-api";

let api: ContractApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

const require = createRequire(import.meta.url);

/** The page's Content-Security-Policy as directive → sources. */
async function policyOf(path: string) {
  const res = await api.request(path);
  expect(res.status).toBe(200);
  const header = res.headers.get("content-security-policy") ?? "";
  return Object.fromEntries(
    header.split(";").map((directive) => {
      const [name, ...sources] = directive.trim().split(/\s+/);
      return [name, sources];
    }),
  );
}

/** The scripts and stylesheets the page loads. */
const filesOf = async (path: string) => {
  const html = await (await api.request(path)).text();
  return [...html.matchAll(/<script\b[^>]*\ssrc="([^"]+)"|<link rel="stylesheet" href="([^"]+)"/g)]
    .map((match) => (match[1] ?? match[2]) as string)
    .sort();
};

/** The text of each inline script of the page. */
const inlineScripts = (html: string) =>
  [...html.matchAll(/<script(?![^>]*\ssrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? "");

const sha256Source = (script: string) =>
  `'sha256-${createHash("sha256").update(script).digest("base64")}'`;

// /doc is @hono/swagger-ui's page: one inline script starts Swagger UI, allowed by its hash.
const PAGES: [string, { files: string[]; inlineScripts: number }][] = [
  [
    "/doc",
    {
      files: [
        "/assets/swagger-ui-dist/swagger-ui-bundle.js",
        "/assets/swagger-ui-dist/swagger-ui.css",
      ],
      inlineScripts: 1,
    },
  ],
  [
    "/reset-password",
    { files: ["/assets/reset-password.css", "/assets/reset-password.js"], inlineScripts: 0 },
  ],
  [
    "/verify-email",
    { files: ["/assets/reset-password.css", "/assets/verify-email.js"], inlineScripts: 0 },
  ],
];

describe.each(PAGES)("GET %s", (path, { files, inlineScripts: inlineCount }) => {
  it("is HTML whose Content-Security-Policy allows scripts and styles from this origin only", async () => {
    const res = await api.request(path);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const policy = await policyOf(path);
    expect(policy["default-src"]).toEqual(["'none'"]);
    expect(policy["style-src"]).toEqual(["'self'"]);
    expect(policy["connect-src"]).toEqual(["'self'"]);
    // Beside 'self', only the hashes of the page's own inline scripts: never 'unsafe-inline'.
    const scripts = inlineScripts(await (await api.request(path)).text());
    expect(policy["script-src"]).toEqual(["'self'", ...scripts.map(sha256Source)]);
  });

  it("has no inline script but those its CSP hashes, no handler, and names no other host", async () => {
    const html = await (await api.request(path)).text();
    expect(inlineScripts(html)).toHaveLength(inlineCount);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/<style/i);
    expect(html).not.toMatch(/\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
  });

  it("loads its scripts and styles from this server", async () => {
    expect(await filesOf(path)).toEqual(files);
    for (const file of files) {
      const res = await api.request(file);
      expect(res.status, file).toBe(200);
      const type = file.endsWith(".js") ? /^(text|application)\/javascript/ : /^text\/css/;
      expect(res.headers.get("content-type"), file).toMatch(type);
      expect(res.headers.get("x-content-type-options"), file).toBe("nosniff");
    }
  });
});

describe("GET /assets/{name}", () => {
  it.each(["swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui-dist/swagger-ui.css"])(
    "%s is the file of the swagger-ui-dist package, byte for byte",
    async (name) => {
      const res = await api.request(`/assets/${name}`);
      expect(res.status).toBe(200);
      const packaged = await readFile(require.resolve(name));
      expect(Buffer.from(await res.arrayBuffer()).equals(packaged)).toBe(true);
    },
  );

  it("answers 304 to a request that already holds the current version", async () => {
    const first = await api.request("/assets/reset-password.js");
    const etag = first.headers.get("etag");
    expect(etag).toMatch(/^(W\/)?"[^"]+"$/);
    const again = await api.request("/assets/reset-password.js", {
      headers: { "if-none-match": etag as string },
    });
    expect(again.status).toBe(304);
  });

  // On Workers, Cloudflare answers for a file that exists (before the Worker runs), the Worker for
  // one that does not: both must be the 405 with `Allow` of every other path.
  it.each(["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])(
    "%s on a file or a missing one is 405 with Allow: GET, HEAD",
    async (method) => {
      for (const path of ["/assets/swagger-ui-init.js", "/assets/nope.js"]) {
        const body = ["POST", "PUT", "PATCH"].includes(method) ? "{}" : undefined;
        const res = await api.request(path, { method, body });
        expect(res.status, path).toBe(405);
        expect(res.headers.get("allow"), path).toBe("GET, HEAD");
        await res.arrayBuffer();
      }
    },
  );

  it.each([
    "/assets/nope.js",
    // Files of swagger-ui-dist that the pages do not use.
    "/assets/swagger-ui-dist/index.html",
    "/assets/swagger-ui-dist/swagger-ui-bundle.js.map",
    "/assets/..%2Fpackage.json",
    "/assets/%2E%2E/%2E%2E/package.json",
  ])("%s is 404 with the contract's body", async (path) => {
    const res = await api.request(path);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual(notFound().body);
  });
});
