import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { ApiError } from "../errors";
import { assertValidText } from "../lib/validation";

export const MAX_BODY_BYTES = 64 * 1024;

const limit = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new ApiError("PAYLOAD_TOO_LARGE", "Request body is larger than 64 KiB.");
  },
});

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

function requireJson(c: Context) {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json.");
  }
}

const invalidJson = () => new ApiError("INVALID_JSON", "Request body is not valid JSON.");

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The body as text; bytes that are not UTF-8 are refused instead of becoming U+FFFD. */
async function bodyText(c: Context) {
  const bytes = await c.req.arrayBuffer();
  try {
    return utf8.decode(bytes);
  } catch {
    throw invalidJson();
  }
}

/** Parses the body text and refuses text Postgres cannot store or that is not Unicode. */
function parse(text: string) {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidJson();
  }
  assertValidText(value);
}

/**
 * For requests that carry a body: require JSON (415), cap the size before reading (413), parse it
 * (INVALID_JSON) and check its text. Hono caches the body, so route validators reuse it. A
 * request without a body is never refused for its Content-Type (many clients send
 * application/json on every GET); POST, PUT and PATCH without one are INVALID_JSON.
 */
export const jsonBody = createMiddleware(async (c, next) => {
  const { headers, body } = c.req.raw;
  const parsed = (text: string) => {
    parse(text);
    return next();
  };
  const bodiless = () => (BODY_METHODS.has(c.req.method) ? parsed("") : next());
  const length = headers.get("content-length");
  if (length !== null && !headers.has("transfer-encoding")) {
    if (Number(length) === 0) return bodiless();
    requireJson(c);
    return limit(c, async () => parsed(await bodyText(c)));
  }
  if (body === null) return bodiless();
  // Chunked, or a stream with no framing at all (Node's server gives every DELETE one): only
  // reading it, within the cap, tells whether there is a body.
  return limit(c, async () => {
    const text = await bodyText(c);
    if (text === "") return bodiless();
    requireJson(c);
    return parsed(text);
  });
});
