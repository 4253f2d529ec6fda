import { serviceUnavailable } from "../../errors";
import { createRouter } from "../../http/create-router";
import type { AppRouteHandler } from "../../http/handler";
import * as routes from "./system.routes";

const health: AppRouteHandler<routes.HealthRoute> = (c) => c.json({ status: "ok" }, 200);

const ready: AppRouteHandler<routes.ReadyRoute> = async (c) => {
  await c
    .get("deps")
    .ping()
    .catch(() => {
      throw serviceUnavailable();
    });
  return c.json({ status: "ready" }, 200);
};

export const systemRouter = createRouter()
  .openapi(routes.health, health)
  .openapi(routes.ready, ready)
  .get("/", (c) => c.redirect("/doc", 302));
