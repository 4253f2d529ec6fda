import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { ClientClosedRequest, invalidJson, payloadTooLarge, unsupportedMediaType } from "../errors";
import { MAX_BODY_BYTES } from "../http/body-limit";
import { assertValidText } from "../http/validation";

/**
 * An oversized body up to this size is still read to its end (and discarded) before the 413, so
 * its connection can carry the next request; a larger one is refused unread, and the connection
 * closes (announced with `Connection: close` on Node, see src/node/connection-rules.ts).
 */
export const DRAIN_MAX_BYTES = 1024 * 1024;

/**
 * How long the rest of an oversized body may take to arrive: a client that stops sending gets its
 * 413 then (and its connection closes) instead of holding the request open.
 */
export const DRAIN_WAIT_MS = 1000;

/** The next chunk, or `undefined` when none came by `deadline` (a time from performance.now()). */
async function readBefore(reader: ReadableStreamDefaultReader<Uint8Array>, deadline: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - performance.now()));
  });
  try {
    return await Promise.race([reader.read(), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A body stream that fails has lost its client (Node: the socket closed before Content-Length or
 * the last chunk arrived; workerd: the client disconnected): nothing else reads it, so the failure
 * is the client's, whatever error the runtime gives it.
 */
const clientGone = (): never => {
  throw new ClientClosedRequest();
};

/** The methods whose routes require a body: sent without one, it is INVALID_JSON. */
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);
/**
 * The POST routes that take no body (an action on the caller's own account): sent without one,
 * they are not refused; a body sent anyway is still checked like any other.
 */
const BODILESS_POSTS = new Set(["/api/me/verify_email"]);

/** The methods whose routes may read a body (DELETE /api/me takes one; the rest ignore it). */
const READABLE_METHODS = new Set([...BODY_METHODS, "DELETE"]);
const BODILESS_METHODS = new Set(["GET", "HEAD"]);

/**
 * Only `application/json`, with no parameter but `charset=utf-8` (quoted or not, any letter case):
 * the body is always read as UTF-8 JSON, so a JSON look-alike (`application/vnd.api+json`) or
 * another charset would be parsed as something the client did not send. No space before `;`, as
 * @hono/zod-openapi's own check of a route's media type has it.
 */
const JSON_MEDIA_TYPE = /^application\/json(;[ \t]*charset=(utf-8|"utf-8"))*$/i;

function requireJson(c: Context) {
  if (!JSON_MEDIA_TYPE.test(c.req.header("content-type") ?? "")) throw unsupportedMediaType();
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The body as text: refused (413) past MAX_BODY_BYTES, after reading it to its end when it is at
 * most DRAIN_MAX_BYTES; bytes that are not UTF-8 are refused instead of becoming U+FFFD.
 */
async function readText(body: ReadableStream<Uint8Array> | null, declaredLength: number) {
  if (declaredLength > DRAIN_MAX_BYTES) throw payloadTooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (body) {
    const reader = body.getReader();
    let drainUntil = Number.POSITIVE_INFINITY;
    for (;;) {
      const read = await (size > MAX_BODY_BYTES
        ? readBefore(reader, drainUntil)
        : reader.read()
      ).catch(clientGone);
      if (read?.done) break;
      if (read === undefined || size + read.value.length > DRAIN_MAX_BYTES) {
        void reader.cancel().catch(() => {});
        throw payloadTooLarge();
      }
      size += read.value.length;
      if (size <= MAX_BODY_BYTES) chunks.push(read.value);
      else if (drainUntil === Number.POSITIVE_INFINITY)
        drainUntil = performance.now() + DRAIN_WAIT_MS;
    }
  }
  if (size > MAX_BODY_BYTES) throw payloadTooLarge();
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return decodeUtf8(bytes);
}

/** UTF-8 text of a body; bytes that are not UTF-8 are INVALID_JSON, never U+FFFD. */
function decodeUtf8(bytes: ArrayBuffer | Uint8Array) {
  try {
    return utf8.decode(bytes);
  } catch {
    throw invalidJson();
  }
}

/**
 * A body whose Content-Length is within MAX_BODY_BYTES, read whole: the framing bounds it, so it
 * needs no cap while it arrives. Asked for as bytes rather than as a stream, @hono/node-server
 * reads it from the socket without building a web Request and a ReadableStream around it first.
 */
async function readDeclared(raw: Request) {
  return decodeUtf8(await raw.arrayBuffer().catch(clientGone));
}

/**
 * Parses the body text and refuses text Postgres cannot store or that is not Unicode. For the
 * methods whose routes may read a body, the parsed value goes into Hono's body cache, where the
 * route's validator (`c.req.json()`) finds it: the body is parsed once and never read again.
 */
async function parse(c: Context, text: string) {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidJson();
  }
  assertValidText(value);
  if (READABLE_METHODS.has(c.req.method)) c.req.bodyCache.json = Promise.resolve(value);
}

/**
 * For requests that carry a body: require JSON (415), cap the size (413), parse it (INVALID_JSON)
 * and check its text. A request without a body is never refused for its Content-Type (many
 * clients send application/json on every GET); POST, PUT and PATCH without one are INVALID_JSON.
 */
export const jsonBody = createMiddleware(async (c, next) => {
  const { headers } = c.req.raw;
  const parsed = async (text: string) => {
    await parse(c, text);
    return next();
  };
  const bodiless = () => {
    if (BODY_METHODS.has(c.req.method) && !BODILESS_POSTS.has(c.req.path)) return parsed("");
    // A stream read to its end here is no body for what follows (a route's validator); a used
    // Request cannot be copied without a new body, so the copy is made from its parts.
    const { raw } = c.req;
    if (raw.bodyUsed && READABLE_METHODS.has(raw.method)) {
      c.req.raw = new Request(raw.url, {
        method: raw.method,
        headers: raw.headers,
        signal: raw.signal,
      });
    }
    return next();
  };
  const length = headers.get("content-length");
  const chunked = headers.has("transfer-encoding");
  if (length !== null && !chunked) {
    const declared = Number(length);
    if (declared === 0) return bodiless();
    requireJson(c);
    if (declared <= MAX_BODY_BYTES) return parsed(await readDeclared(c.req.raw));
    return parsed(await readText(c.req.raw.body, declared));
  }
  // A GET or HEAD without framing has no body (RFC 9112 §6.3). Not asking for it spares
  // @hono/node-server building a whole Request, headers and all, on every read (about a
  // twentieth of an authenticated read's CPU time).
  if (!chunked && BODILESS_METHODS.has(c.req.method)) return bodiless();
  const body = c.req.raw.body;
  if (body === null) return bodiless();
  // Chunked, or a stream with no framing at all (Node's server gives every DELETE one): only
  // reading it, within the cap, tells whether there is a body.
  const text = await readText(body, 0);
  if (text === "") return bodiless();
  requireJson(c);
  return parsed(text);
});
