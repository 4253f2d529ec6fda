import type { Context } from "hono";

/** What @hono/node-server passes as `c.env`: Node's response for the request, among others. */
type NodeBindings = { outgoing?: { setHeader(name: string, value: string): unknown } };

/**
 * Sets headers that every response to this request carries, whatever answers it (the handler,
 * the error handler, a 404); a header the handler sets itself still wins. On Node they go
 * straight onto Node's response (@hono/node-server's `c.env.outgoing`), which writes them with
 * the response's own: c.header() would collect them in a WHATWG Headers object, and
 * @hono/node-server then copies a response's Headers over name by name, where a response whose
 * only header is its content type (c.json()) is written as it is. For the thirteen headers of
 * every /api response that was about 8 µs of an authenticated read's CPU time (bench/README.md).
 * Elsewhere (Workers, `app.request()` in tests) c.header().
 */
export function setResponseHeaders(c: Context, headers: Iterable<readonly [string, string]>) {
  const outgoing = (c.env as NodeBindings | undefined)?.outgoing;
  for (const [name, value] of headers) {
    if (outgoing) outgoing.setHeader(name, value);
    else c.header(name, value);
  }
}
