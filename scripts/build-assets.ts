// wrangler.toml's [build] command: puts the files served under /assets/ (the list is
// src/node/assets.ts's) into dist/public, the Worker's static assets, which Cloudflare serves
// before the Worker runs; `_headers` gives them the security headers the app sets on Node, and
// `Allow` for the 405 Cloudflare answers other methods with.
import { copyFile, mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SECURITY_HEADERS } from "../src/middleware/security-headers";
import { assetFiles } from "../src/node/assets";

const out = fileURLToPath(new URL("../dist/public", import.meta.url));
await rm(out, { recursive: true, force: true });
for (const [name, path] of await assetFiles()) {
  await mkdir(dirname(join(out, "assets", name)), { recursive: true });
  await copyFile(path, join(out, "assets", name));
}
// Cloudflare answers any other method on an asset with a bare 405, before the Worker runs, and
// applies these headers to it too: `Allow` makes it the 405 the app gives (on every asset
// response, where RFC 9110 permits it).
const headers = [...SECURITY_HEADERS, ["Allow", "GET, HEAD"]].map(
  ([name, value]) => `  ${name}: ${value}`,
);
await writeFile(join(out, "_headers"), `/assets/*\n${headers.join("\n")}\n`);
