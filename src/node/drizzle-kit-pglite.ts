import { registerHooks } from "node:module";
import { PGlite, type PGliteOptions } from "@electric-sql/pglite";
import { PGLITE_EXTENSIONS } from "./pglite-extensions";

const GLOBAL_KEY = "edge-user-api:PGliteWithExtensions";

/** PGlite opened with PGLITE_EXTENSIONS, whatever its caller passes. */
class PGliteWithExtensions extends PGlite {
  constructor(dataDir?: string | PGliteOptions, options: PGliteOptions = {}) {
    const given = typeof dataDir === "object" ? dataDir : options;
    const withExtensions = { ...given, extensions: { ...PGLITE_EXTENSIONS, ...given.extensions } };
    if (typeof dataDir === "object") super(withExtensions);
    else super(dataDir, withExtensions);
  }
}

/**
 * drizzle-kit opens the embedded database itself (`new PGlite(dir)`) and its config cannot pass
 * PGlite options, so it could neither create nor use the extensions the migrations need
 * ("extension pg_trgm is not available"). From this call on, its `import("@electric-sql/pglite")`
 * gets the package with PGliteWithExtensions in place of PGlite. For drizzle.config.ts only.
 */
export function openPgliteWithExtensionsInDrizzleKit() {
  (globalThis as Record<string, unknown>)[GLOBAL_KEY] = PGliteWithExtensions;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context);
      const fromShim = context.parentURL?.startsWith("data:") ?? false;
      if (
        specifier !== "@electric-sql/pglite" ||
        fromShim ||
        context.conditions.includes("require")
      )
        return resolved;
      const shim = [
        `export * from ${JSON.stringify(resolved.url)};`,
        `export const PGlite = globalThis[${JSON.stringify(GLOBAL_KEY)}];`,
      ].join("\n");
      return { url: `data:text/javascript,${encodeURIComponent(shim)}`, shortCircuit: true };
    },
  });
}
