import { type FuzzRequest, wellFormed } from "./fuzz-requests";
import { type FuzzWorld, Known, type Self } from "./fuzz-world";
import type { DocumentedOperation } from "./openapi-document";
import { Repeated } from "./schema-arbitraries";

// A generated request as it goes out: values that stand for the state at sending time (an
// account's name, a harvested token, a long string) filled in.

/** `value` with every Known and Repeated replaced by what it stands for now. */
function fill(value: unknown, world: FuzzWorld, self: Self): unknown {
  if (value instanceof Known) return world.known(value, self);
  if (value instanceof Repeated) return value.text;
  if (Array.isArray(value)) return value.map((v) => fill(v, world, self));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, world, self)]));
  }
  return value;
}

const isDotSegment = (s: string) => /^(\.|%2e){1,2}$/i.test(s);

/** The path with its parameters filled in; undefined when one would be empty, `.` or `..`. */
export function pathOf(op: DocumentedOperation, req: FuzzRequest, world: FuzzWorld) {
  let skip = false;
  const path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const p = req.params[name];
    const s = !p
      ? ""
      : "raw" in p
        ? p.raw
        : encodeURIComponent(wellFormed(String(fill(p.text, world, req.self))));
    if (s === "" || isDotSegment(s)) skip = true;
    return s;
  });
  if (skip) return undefined;
  const search = new URLSearchParams(req.query).toString();
  return search ? `${path}?${search}` : path;
}

/** The request as it goes out, and the JSON body it carried (values filled in). */
export async function initOf(op: DocumentedOperation, req: FuzzRequest, world: FuzzWorld) {
  const headers = new Headers(req.headers);
  const authorization = await world.authorization(req.auth);
  if (authorization !== undefined) headers.set("authorization", authorization);
  if (req.contentType !== undefined) headers.set("content-type", req.contentType);
  let sent: unknown;
  let body: Uint8Array | undefined;
  if (req.body.kind === "json") {
    sent = fill(req.body.value, world, req.self);
    body = new TextEncoder().encode(JSON.stringify(sent));
  } else if (req.body.kind === "text") {
    body = new TextEncoder().encode(String(fill(req.body.text, world, req.self)));
  } else if (req.body.kind === "bytes") {
    body = req.body.bytes;
  }
  // An empty body is no body: nothing is sent.
  if (body?.length === 0) body = undefined;
  return { init: { method: op.method, headers, body } satisfies RequestInit, sent };
}
