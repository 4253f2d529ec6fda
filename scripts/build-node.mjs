// Compiles the Node server (src/node.ts) to plain JavaScript, so `npm start` needs no TypeScript
// loader at run time. Importable (scripts/start.mjs) and runnable (`npm run build`).
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));

/**
 * Where the bundle goes. It must stay two levels below the repository root: src/node/database.ts
 * finds the migrations at `../../drizzle` from its own module URL, which is this file once bundled.
 */
export const SERVER_BUNDLE = `${root}dist/node/server.js`;

/** Bundles src/node.ts to SERVER_BUNDLE (dependencies stay in node_modules); returns its path. */
export async function buildNode() {
  try {
    const result = await esbuild.build({
      entryPoints: [`${root}src/node.ts`],
      outfile: SERVER_BUNDLE,
      bundle: true,
      // Packages are loaded from node_modules as usual: native argon2 and PGlite's wasm need it.
      packages: "external",
      platform: "node",
      format: "esm",
      target: "node22",
      sourcemap: true,
      write: false,
      logLevel: "warning",
    });
    await mkdir(dirname(SERVER_BUNDLE), { recursive: true });
    // Written aside and renamed, so a server starting meanwhile never imports half a file.
    for (const file of result.outputFiles) {
      const partial = `${file.path}.${process.pid}.tmp`;
      await writeFile(partial, file.contents);
      await rename(partial, file.path);
    }
  } finally {
    // The esbuild service is a child process: stop it rather than keep it beside the server.
    await esbuild.stop();
  }
  return SERVER_BUNDLE;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildNode();
  console.log(`Built ${SERVER_BUNDLE}`);
}
