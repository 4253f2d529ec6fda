// Part of wrangler.toml's [build] command: bundles MAIL_TEMPLATES_DIR (when set in the build's
// environment) into dist/mail-templates.js, which wrangler.toml's [alias] makes the module
// "bundled-mail-templates" the Worker imports: Workers have no filesystem to read them from at
// run time. The directory is checked as the Node server checks it at start, so a typo fails the
// build (and so the deploy) with the file named. Unset: an empty module, the built-in English.
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadMailTemplates, readTemplateFiles } from "../src/node/mail-templates";

// MAIL_TEMPLATES_MODULE moves the output, for a build given `--alias bundled-mail-templates:<it>`
// (the tests build Workers with other templates while another build runs).
const out = resolve(
  process.env.MAIL_TEMPLATES_MODULE ||
    fileURLToPath(new URL("../dist/mail-templates.js", import.meta.url)),
);
const dir = process.env.MAIL_TEMPLATES_DIR || undefined;
let files: Record<string, string> = {};
if (dir) {
  try {
    loadMailTemplates(dir);
  } catch (error) {
    console.error(`Invalid mail templates: ${(error as Error).message}`);
    process.exit(1);
  }
  files = readTemplateFiles(resolve(dir));
  console.log(`Mail templates: ${Object.keys(files).length} files from ${dir}`);
}
await mkdir(dirname(out), { recursive: true });
// Written aside and renamed: a build running meanwhile (the tests build in parallel) never reads
// half a file.
const partial = `${out}.${process.pid}.tmp`;
await writeFile(partial, `export default ${JSON.stringify(files, null, 1)};\n`);
await rename(partial, out);
