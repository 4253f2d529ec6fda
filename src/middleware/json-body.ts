import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { ApiError } from "../errors";

export const MAX_BODY_BYTES = 64 * 1024;

const limit = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new ApiError("PAYLOAD_TOO_LARGE", "Request body is larger than 64 KiB.");
  },
});

const hasBody = (req: Request) =>
  req.headers.has("content-type") ||
  req.headers.has("transfer-encoding") ||
  Number(req.headers.get("content-length") ?? 0) > 0;

/**
 * For requests that carry a body: require JSON (415), cap the size before reading (413) and parse
 * once (INVALID_JSON). Hono caches the parsed body, so route validators reuse it.
 */
export const jsonBody = createMiddleware(async (c, next) => {
  const needsBody = c.req.method === "POST" || c.req.method === "PUT" || c.req.method === "PATCH";
  if (!needsBody && !hasBody(c.req.raw)) return next();

  const type = c.req.header("content-type") ?? "";
  if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json.");
  }
  return limit(c, async () => {
    try {
      await c.req.json();
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError("INVALID_JSON", "Request body is not valid JSON.");
    }
    await next();
  });
});
