import { serviceUnavailable } from "../../errors";
import { createRouter } from "../../http/create-router";
import type { AppRouteHandler } from "../../http/handler";
import { mailDeliveryStatus } from "../../mail/delivery.store";
import * as routes from "./system.routes";

const health: AppRouteHandler<routes.HealthRoute> = (c) => c.json({ status: "ok" }, 200);

const ready: AppRouteHandler<routes.ReadyRoute> = async (c) => {
  // Reading the mail status is the database check too: one round trip. Mail failing does not
  // make the API unready (it answers, and logs each failure); it is shown.
  const mail = await mailDeliveryStatus(c.get("deps").db).catch(() => {
    throw serviceUnavailable();
  });
  return c.json({ status: "ready" as const, mail }, 200);
};

export const systemRouter = createRouter()
  .openapi(routes.health, health)
  .openapi(routes.ready, ready)
  .get("/", (c) => c.redirect("/doc", 302));
