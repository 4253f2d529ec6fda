// Compiles the Node server (src/node.ts) to plain JavaScript, so `npm start` needs no TypeScript
// loader at run time. Importable (scripts/start.mjs) and runnable (`npm run build`).
import { mkdir, readdir, rename, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/**
 * Where the bundle goes. It must stay two levels below the repository root: src/node/database.ts
 * finds the migrations at `../../drizzle` from its own module URL, which is this file once bundled.
 */
export const SERVER_BUNDLE = `${root}dist/node/server.js`;

/** What `npm run build` compiles: the server, and the scripts an image without tsx runs. */
const ENTRIES = {
  server: `${root}src/node.ts`,
  migrate: `${root}scripts/migrate.ts`,
  "seed-admin": `${root}scripts/seed-admin.ts`,
};

/**
 * Bundles src/node.ts (and, when asked, the other ENTRIES) with their pure-JavaScript
 * dependencies into dist/node; returns SERVER_BUNDLE.
 * One file loads far faster than hundreds of package modules: on Node 24, importing drizzle-orm
 * from node_modules alone took ~0.45 s and ~130 MB (every module re-reads its 180 KB
 * package.json), against ~0.07 s on Node 20.
 */
export async function buildNode(names = ["server"]) {
  // Loaded only when a build is needed: a start with a current bundle skips it.
  const esbuild = await import("esbuild");
  try {
    const result = await esbuild.build({
      entryPoints: Object.fromEntries(names.map((name) => [name, ENTRIES[name]])),
      outdir: dirname(SERVER_BUNDLE),
      bundle: true,
      // Loaded from node_modules at run time: native argon2 and PGlite's wasm find their files
      // next to their own modules.
      external: ["@node-rs/argon2", "@electric-sql/pglite"],
      // Bundled CommonJS packages call require(); ESM output has none of its own.
      banner: {
        js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
      },
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

/**
 * Whether SERVER_BUNDLE is newer than everything it is built from (src/, package.json for the
 * version the OpenAPI document reports, the lockfile and this script), so a start can skip the ~0.2 s of compiling.
 */
export async function bundleIsCurrent() {
  const built = await stat(SERVER_BUNDLE).catch(() => undefined);
  if (!built) return false;
  const sources = (await readdir(`${root}src`, { recursive: true })).map((f) => `${root}src/${f}`);
  sources.push(`${root}package.json`, `${root}package-lock.json`, fileURLToPath(import.meta.url));
  for (const source of sources) {
    if ((await stat(source)).mtimeMs > built.mtimeMs) return false;
  }
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildNode(Object.keys(ENTRIES));
  console.log(`Built ${Object.keys(ENTRIES).join(", ")} in ${dirname(SERVER_BUNDLE)}`);
}
