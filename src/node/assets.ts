import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Asset } from "../deps";

// Two levels below the repository root, as src/node/*.ts and dist/node/server.js both are.
export const PUBLIC_ASSETS_DIR = fileURLToPath(new URL("../../public/assets", import.meta.url));

const require = createRequire(import.meta.url);
/** Files of npm packages served under /assets/ beside the project's own (public/assets). */
const vendorAssets = ["swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui-dist/swagger-ui.css"];

const contentTypes: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/** Every file served under /assets/ by name, and where it is on disk. */
export async function assetFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const name of await readdir(PUBLIC_ASSETS_DIR)) {
    files.set(name, join(PUBLIC_ASSETS_DIR, name));
  }
  // Under the package's name, where @hono/swagger-ui's baseUrl puts them (/assets/swagger-ui-dist/…).
  for (const specifier of vendorAssets) files.set(specifier, require.resolve(specifier));
  return files;
}

/**
 * Serves /assets/ on Node, from memory once read: a fixed list of files (never a path from the
 * request), which on Workers are static assets that the platform serves before the Worker runs.
 */
export function nodeAssets(): (name: string) => Promise<Asset | undefined> {
  let files: Promise<Map<string, string>> | undefined;
  const loaded = new Map<string, Promise<Asset>>();
  return async (name) => {
    files ??= assetFiles();
    const path = (await files).get(name);
    if (!path) return undefined;
    let asset = loaded.get(name);
    if (!asset) {
      asset = load(path);
      loaded.set(name, asset);
      // A failed read is tried again by the next request.
      asset.catch(() => loaded.delete(name));
    }
    return asset;
  };
}

async function load(path: string): Promise<Asset> {
  const body = new Uint8Array(await readFile(path));
  const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
  const contentType = contentTypes[extname(path)] ?? "application/octet-stream";
  return { body, contentType, etag };
}
