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

const Ready = z
  .object({
    status: z.literal("ready"),
    mail: z
      .object({
        status: z.enum(["ok", "failing", "unknown"]).openapi({
          description:
            "failing: the last recorded send failed; ok: it went out; unknown: nothing recorded yet",
        }),
        failures: z.number().int().openapi({ description: "Failed sends counted since the start" }),
        last_failure_at: z.string().nullable().openapi({ format: "date-time" }),
      })
      .openapi({ description: "How mail sent after responses has been going (every instance)" }),
  })
  .openapi("Readiness");

export const ready = createRoute({
  method: "get",
  path: "/ready",
  operationId: "ready",
  tags,
  security: noSecurity,
  summary: "Readiness: the database answers (and how mail is going)",
  responses: { 200: jsonContent(Ready, "Ready"), ...errorResponses("SERVICE_UNAVAILABLE") },
});

export type HealthRoute = typeof health;
export type ReadyRoute = typeof ready;
