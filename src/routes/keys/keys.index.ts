import { publicJwks } from "../../auth/signing-keys";
import { createRouter } from "../../http/create-router";
import type { AppRouteHandler } from "../../http/handler";
import * as routes from "./keys.routes";

// Outside /api, so no `no-store`: public keys that verifiers may keep for five minutes, which is
// why a new key is published that long before it signs (docs/api.md, "Signing keys and the JWKS").
const jwks: AppRouteHandler<routes.JwksRoute> = (c) => {
  c.header("Cache-Control", "public, max-age=300");
  return c.json({ keys: publicJwks(c.get("deps").config.jwtSigningKeys) }, 200);
};

export const keysRouter = createRouter().openapi(routes.jwks, jwks);
