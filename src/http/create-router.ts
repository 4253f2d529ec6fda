import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../deps";
import { defaultHook } from "./validation";

/** An OpenAPIHono router whose validation failures use the shared error body. */
export const createRouter = () => new OpenAPIHono<AppEnv>({ defaultHook });
