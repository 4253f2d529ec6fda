import { execFile } from "node:child_process";
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { unstable_readConfig } from "wrangler";

/** What the worker tests need to run the deployable bundle in workerd (see worker-api.ts). */
export type WorkerBundle = {
  /** wrangler's own miniflare (and so its workerd), not whichever copy npm hoisted. */
  miniflarePath: string;
  modulesRoot: string;
  modules: { type: "ESModule" | "CompiledWasm"; path: string }[];
  compatibilityDate: string;
  compatibilityFlags: string[];
  /** wrangler.toml's [assets] as built by its [build] command (this run's own copy). */
  assetsDirectory: string;
  /** wrangler.toml's [vars]; never .dev.vars, which belongs to whoever runs the tests. */
  vars: Record<string, string>;
};

declare module "vitest" {
  export interface ProvidedContext {
    workerBundle: WorkerBundle;
  }
}

const root = fileURLToPath(new URL("../..", import.meta.url));
const require = createRequire(import.meta.url);

/** A Worker bundled by `wrangler deploy --dry-run`, as Miniflare takes it. */
export type BuiltWorker = Omit<WorkerBundle, "assetsDirectory">;

/**
 * vitest globalSetup of the worker project: bundles the Worker once, exactly as `npm run deploy`
 * would upload it (`wrangler deploy --dry-run`), into a directory of this run's own.
 */
export default async function setup(project: TestProject) {
  const outdir = await mkdtemp(join(tmpdir(), "worker-tests-"));
  // The templates a developer's shell may name are not the tests' (built-in English).
  project.provide("workerBundle", await buildWorkerBundle(outdir, { MAIL_TEMPLATES_DIR: "" }));
  return () => rm(outdir, { recursive: true, force: true });
}

/**
 * Builds the deployable bundle into `outdir` with `env` added to the build's environment (a
 * MAIL_TEMPLATES_DIR, which the build bundles), as `npm run deploy` would in that environment,
 * with a copy of the static assets of its own.
 */
export async function buildWorkerBundle(
  outdir: string,
  env: Record<string, string> = {},
): Promise<WorkerBundle> {
  const built = await bundleWorker(outdir, { env });
  const config = unstable_readConfig(
    { config: join(root, "wrangler.toml") },
    { hideWarnings: true },
  );
  // Copied: a later build (tests/worker/bundle.test.ts) rewrites the directory while tests run.
  const assetsDirectory = join(outdir, "assets");
  const builtAssets = join(root, config.assets?.directory ?? "missing: [assets] in wrangler.toml");
  await cp(builtAssets, assetsDirectory, { recursive: true });
  return { ...built, assetsDirectory };
}

/**
 * Bundles the Worker that `config` (a wrangler configuration file) describes, exactly as
 * `npm run deploy` would upload it, into `outdir`, with `env` added to the build's environment.
 * Also used by the bench (bench/worker.ts).
 */
export async function bundleWorker(
  outdir: string,
  options: { config?: string; env?: Record<string, string> } = {},
): Promise<BuiltWorker> {
  const { config = join(root, "wrangler.toml"), env = {} } = options;
  const wrangler = require.resolve("wrangler/bin/wrangler.js");
  // With templates of its own, the build writes its generated module beside the bundle, not to
  // dist/, where another build of this run (tests/worker/bundle.test.ts) may be writing its own:
  // through a copy of the configuration whose [alias] points there (`wrangler deploy --alias` does
  // not override the file's [alias] in this wrangler).
  const templatesModule = join(outdir, "..", `${basename(outdir)}-mail-templates.js`);
  const configCopy = join(root, `.wrangler-test-${basename(outdir)}.toml`);
  const ownTemplates = Boolean(env.MAIL_TEMPLATES_DIR);
  if (ownTemplates) {
    const toml = await readFile(config, "utf8");
    const aliased = toml.replace('"./dist/mail-templates.js"', JSON.stringify(templatesModule));
    if (aliased === toml) throw new Error(`${config} has no [alias] for the mail templates`);
    await writeFile(configCopy, aliased);
  }
  try {
    await promisify(execFile)(
      process.execPath,
      [
        wrangler,
        ...["deploy", "--dry-run", "--outdir", outdir],
        ...["--config", ownTemplates ? configCopy : config],
      ],
      {
        cwd: root,
        env: {
          ...process.env,
          WRANGLER_SEND_METRICS: "false",
          ...(ownTemplates && { MAIL_TEMPLATES_MODULE: templatesModule }),
          ...env,
        },
      },
    );
  } finally {
    if (ownTemplates) await rm(configCopy, { force: true });
    await rm(templatesModule, { force: true });
  }
  const files = await readdir(outdir);
  const read = unstable_readConfig({ config }, { hideWarnings: true });
  return {
    miniflarePath: createRequire(require.resolve("wrangler/package.json")).resolve("miniflare"),
    modulesRoot: outdir,
    modules: [
      ...files
        .filter((f) => f.endsWith(".js"))
        .map((f) => ({ type: "ESModule" as const, path: join(outdir, f) })),
      ...files
        .filter((f) => f.endsWith(".wasm"))
        .map((f) => ({ type: "CompiledWasm" as const, path: join(outdir, f) })),
    ],
    compatibilityDate: read.compatibility_date as string,
    compatibilityFlags: read.compatibility_flags,
    vars: Object.fromEntries(Object.entries(read.vars).map(([k, v]) => [k, String(v)])),
  };
}
