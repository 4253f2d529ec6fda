import type {
  ExecutionContext,
  ScheduledController,
} from "@cloudflare/workers-types/latest/index.ts";
import { createApp } from "./app";
import { type Config, ConfigError } from "./config";
import type { Deps } from "./deps";
import { internalError } from "./errors";
import { runPrune } from "./prune";
import { type WorkerEnv, workerConfig } from "./worker/config";
import { openRequestScope } from "./worker/deps";

// The app sees only the dependencies this entry built, never the Worker's bindings.
const app = createApp((c) => (c.env as { deps: Deps }).deps);

/**
 * The Worker's configuration, or undefined after logging what is wrong with it: Workers have no
 * start-up to stop, so every request (and cron run) fails and the log names the binding.
 */
function configOrLog(env: WorkerEnv): Config | undefined {
  try {
    return workerConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return undefined;
  }
}

async function fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
  const config = configOrLog(env);
  if (!config) {
    const internal = internalError();
    return Response.json(internal.body, { status: internal.status });
  }

  const scope = openRequestScope(config, env.HYPERDRIVE?.connectionString ?? "", ctx);
  try {
    return await app.fetch(request, { deps: scope.deps }, ctx);
  } finally {
    ctx.waitUntil(scope.close());
  }
}

/** The Cron Trigger (wrangler.toml): prunes stale rows, in a scope of its own like a request. */
async function scheduled(_controller: ScheduledController, env: WorkerEnv, ctx: ExecutionContext) {
  const config = configOrLog(env);
  if (!config) return;
  const scope = openRequestScope(config, env.HYPERDRIVE?.connectionString ?? "", ctx);
  ctx.waitUntil(runPrune(scope.deps).finally(() => scope.close()));
}

export default { fetch, scheduled };
