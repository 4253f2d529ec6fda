import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses, jsonContent, noSecurity, offlineErrorResponses } from "../../http/openapi";

const tags = ["System"];
const Status = z.object({ status: z.string() }).openapi("Status");

export const health = createRoute({
  method: "get",
  path: "/health",
  operationId: "health",
  tags,
  security: noSecurity,
  summary: "Liveness: the process answers (no database)",
  responses: { 200: jsonContent(Status, "Alive"), ...offlineErrorResponses() },
});

export const ready = createRoute({
  method: "get",
  path: "/ready",
  operationId: "ready",
  tags,
  security: noSecurity,
  summary: "Readiness: the database answers",
  responses: { 200: jsonContent(Status, "Ready"), ...errorResponses("SERVICE_UNAVAILABLE") },
});

export type HealthRoute = typeof health;
export type ReadyRoute = typeof ready;
