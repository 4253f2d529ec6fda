import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { compileTemplates, type MailTemplates } from "../mail/templates/template-set";

/**
 * The files of a template directory by their path under it (`de/password_reset.txt`), for
 * compileTemplates: on Node at start, and in the Worker's build (scripts/build-mail-templates.ts).
 * Names starting with a dot are skipped (editor and VCS files); anything else is checked.
 */
export function readTemplateFiles(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      if (entry.name.startsWith(".")) continue;
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else files[relative(dir, path).split(sep).join("/")] = readFileSync(path, "utf8");
    }
  };
  walk(dir);
  return files;
}

/** MAIL_TEMPLATES_DIR compiled, or undefined when it is not set; throws naming the bad file. */
export function loadMailTemplates(dir: string | undefined): MailTemplates | undefined {
  if (!dir) return undefined;
  let files: Record<string, string>;
  try {
    files = readTemplateFiles(dir);
  } catch (error) {
    throw new Error(`MAIL_TEMPLATES_DIR=${dir}: ${(error as Error).message}`);
  }
  return compileTemplates(files, dir);
}

/** loadMailTemplates, or exit with a message naming the file, before anything else starts. */
export function loadMailTemplatesOrExit(dir: string | undefined): MailTemplates | undefined {
  try {
    return loadMailTemplates(dir);
  } catch (error) {
    console.error(`Invalid mail templates: ${(error as Error).message}`);
    process.exit(1);
  }
}
