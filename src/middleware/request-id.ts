import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../deps";
import { setResponseHeaders } from "../http/response-headers";

const HEADER = "X-Request-Id";
const MAX_LENGTH = 64;

/**
 * hono/request-id's behaviour with its header set through setResponseHeaders: a client's
 * X-Request-Id is kept when it is 1–64 of [A-Za-z0-9_=-]; else a UUID replaces it. Either way it
 * is the request's `requestId` (the access log, error lines) and is answered in X-Request-Id.
 */
export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  let id = c.req.header(HEADER);
  if (!id || id.length > MAX_LENGTH || /[^\w\-=]/.test(id)) id = crypto.randomUUID();
  c.set("requestId", id);
  setResponseHeaders(c, [[HEADER, id]]);
  await next();
});
