import type { Context } from "hono";
import { cors } from "hono/cors";
// Named imports: the bundlers (esbuild, wrangler) keep only these two fields of package.json.
import { license, version } from "../package.json";
import { clientIp } from "./abuse/client-ip";
import type { Config } from "./config";
import type { AppEnv, Deps } from "./deps";
import { notFound } from "./errors";
import { createRouter } from "./http/create-router";
import { errorHandler } from "./http/error-handler";
import { accessLog } from "./middleware/access-log";
import { allowedMethods } from "./middleware/allowed-methods";
import { jsonBody } from "./middleware/json-body";
import { noStore } from "./middleware/no-store";
import { requestId } from "./middleware/request-id";
import { securityHeaders } from "./middleware/security-headers";
import { auditRouter } from "./routes/audit/audit.index";
import { authRouter } from "./routes/auth/auth.index";
import { keysRouter } from "./routes/keys/keys.index";
import { meRouter } from "./routes/me/me.index";
import { mfaRouter } from "./routes/mfa/mfa.index";
import { pagesRouter } from "./routes/pages/pages.index";
import { sessionsRouter } from "./routes/sessions/sessions.index";
import { systemRouter } from "./routes/system/system.index";
import { usersRouter } from "./routes/users/users.index";

/**
 * Builds the whole API. `provide` hands each request its dependencies: the same object every time
 * on Node, a per-request one on Workers. Nothing here imports runtime-specific modules.
 */
export function createApp(provide: (c: Context<AppEnv>) => Deps) {
  const app = createRouter();
  const corsFor = memoizeByConfig((config) =>
    config.corsOrigins.length > 0
      ? cors({ origin: config.corsOrigins, allowHeaders: ["Authorization", "Content-Type"] })
      : undefined,
  );

  app.use(requestId);
  app.use(accessLog);
  app.use(async (c, next) => {
    const deps = provide(c);
    c.set("deps", deps);
    const forwardedFor = c.req.header("x-forwarded-for");
    c.set("clientIp", clientIp(deps.remoteAddress?.(c), forwardedFor, deps.config.trustProxy));
    await next();
  });
  app.use(securityHeaders);
  app.use((c, next) => corsFor(c.get("deps").config)?.(c, next) ?? next());
  app.use("/api/*", noStore);
  app.use(allowedMethods(app));
  app.use("/api/*", jsonBody);

  // One chain, returned: its type carries every route (src/client.ts's AppType must equal it).
  const routes = app
    .route("/", systemRouter)
    .route("/", keysRouter)
    .route("/", authRouter)
    .route("/", sessionsRouter)
    .route("/", usersRouter)
    .route("/", meRouter)
    .route("/", mfaRouter)
    .route("/", auditRouter)
    .route("/", pagesRouter);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "User Management API",
      version,
      // The URL, not the SPDX `identifier` of OpenAPI 3.1: the typings of doc31 know only `url`.
      license: { name: license, url: `https://spdx.org/licenses/${license}.html` },
      description:
        "Registration, login with JWTs, password reset by email, and USER/ADMIN administration.",
    },
    // Relative: the API answers wherever it is served from.
    servers: [{ url: "/", description: "This server" }],
  });

  app.notFound((c) => errorHandler(notFound(), c));
  app.onError(errorHandler);
  return routes;
}

export type App = ReturnType<typeof createApp>;

function memoizeByConfig<T>(build: (config: Config) => T) {
  const cache = new WeakMap<Config, T>();
  return (config: Config) => {
    if (!cache.has(config)) cache.set(config, build(config));
    return cache.get(config) as T;
  };
}
