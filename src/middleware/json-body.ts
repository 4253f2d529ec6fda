import { createMiddleware } from "hono/factory";
import { ApiError, payloadTooLarge, unsupportedMediaType } from "../errors";

export const MAX_BODY_BYTES = 64 * 1024;

/**
 * An oversized body up to this size is still read to its end (and discarded) before the 413, so
 * its connection can carry the next request; a larger one is refused unread, and the connection
 * closes (announced with `Connection: close` on Node, see src/node/connection-rules.ts).
 */
export const DRAIN_MAX_BYTES = 1024 * 1024;

/** The body, refused (413) past MAX_BODY_BYTES before any of it is parsed. */
async function readCapped(body: ReadableStream<Uint8Array<ArrayBuffer>>, declaredLength: number) {
  if (declaredLength > DRAIN_MAX_BYTES) throw payloadTooLarge();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  const reader = body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.length;
    if (size > DRAIN_MAX_BYTES) {
      void reader.cancel().catch(() => {});
      throw payloadTooLarge();
    }
    if (size <= MAX_BODY_BYTES) chunks.push(read.value);
  }
  if (size > MAX_BODY_BYTES) throw payloadTooLarge();
  return new Blob(chunks);
}

const hasBody = (req: Request) =>
  req.headers.has("content-type") ||
  req.headers.has("transfer-encoding") ||
  Number(req.headers.get("content-length") ?? 0) > 0;

/**
 * For requests that carry a body: require JSON (415), cap the size before parsing (413) and parse
 * once (INVALID_JSON). Hono caches the parsed body, so route validators reuse it.
 */
export const jsonBody = createMiddleware(async (c, next) => {
  const needsBody = c.req.method === "POST" || c.req.method === "PUT" || c.req.method === "PATCH";
  if (!needsBody && !hasBody(c.req.raw)) return next();

  const type = c.req.header("content-type") ?? "";
  if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw unsupportedMediaType();
  }
  const { body } = c.req.raw;
  if (body) {
    const declaredLength = Number(c.req.header("content-length") ?? 0);
    c.req.raw = new Request(c.req.raw, { body: await readCapped(body, declaredLength) });
  }
  try {
    await c.req.json();
  } catch {
    throw new ApiError("INVALID_JSON", "Request body is not valid JSON.");
  }
  await next();
});
