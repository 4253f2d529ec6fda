// wrangler bundles `*.wasm` imports as compiled modules (its default CompiledWasm rule).
declare module "*.wasm" {
  import type { WebAssembly } from "@cloudflare/workers-types/latest/index.ts";

  const module: WebAssembly.Module;
  export default module;
}
