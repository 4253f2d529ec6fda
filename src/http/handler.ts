import type { RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../deps";

/** A fully typed handler for one createRoute() definition. */
export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;
