import fc from "fast-check";
import { type Auth, type FuzzWorld, Known, type Self } from "./fuzz-world";
import type { DocumentedOperation, OpenApiDocument } from "./openapi-document";
import {
  type Hints,
  invalidValue,
  malformedBody,
  Repeated,
  strangeText,
  validValue,
} from "./schema-arbitraries";

// Requests for one documented operation: its path parameters, a query string, the
// Authorization and Content-Type headers and a body, each valid or not.

export type Body =
  | { kind: "none" }
  | { kind: "json"; value: unknown }
  | { kind: "text"; text: string | Repeated }
  | { kind: "bytes"; bytes: Uint8Array };

export type FuzzRequest = {
  self: Self;
  params: Record<string, { raw: string } | { text: unknown }>;
  query: [string, string][];
  auth: Auth;
  contentType: string | undefined;
  headers: [string, string][];
  body: Body;
};

const ascii = (maxLength: number) =>
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength,
  });

/** Lone surrogates cannot travel in a URL or a header; they travel in JSON bodies instead. */
const wellFormed = (s: string) =>
  s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");

const self: fc.Arbitrary<Self> = fc.record({
  source: fc.constantFrom("user", "admin", "account"),
  pick: fc.nat(),
});

const knownName = fc.oneof(
  fc.constantFrom(new Known("self"), new Known("self", "username", 0, true)),
  fc.constantFrom(new Known("user"), new Known("admin")),
);

/** Values that reach past "no such account" and "unknown token". */
const hints: Hints = (property) => {
  switch (property) {
    case "username":
      return { weight: 1, arbitrary: fc.oneof(knownName, fc.constant(new Known("self", "email"))) };
    case "email":
      return {
        weight: 1,
        arbitrary: fc.constantFrom(new Known("self", "email"), new Known("self", "email", 0, true)),
      };
    case "password":
    case "current_password":
      return { weight: 2, arbitrary: fc.constant(new Known("self", "password")) };
    case "refresh_token":
      return {
        weight: 3,
        arbitrary: fc.nat().map((i) => new Known("refresh_token", "username", i)),
      };
    case "token":
      return { weight: 3, arbitrary: fc.nat().map((i) => new Known("reset_token", "username", i)) };
  }
};

const segment = (doc: OpenApiDocument, op: DocumentedOperation, name: string) => {
  const schema = op.operation.parameters?.find((p) => p.name === name)?.schema ?? {};
  const text = fc.oneof(
    { weight: 3, arbitrary: name === "username" ? knownName : validValue(doc, schema, hints) },
    { weight: 2, arbitrary: validValue(doc, schema, hints) },
    { weight: 1, arbitrary: strangeText.filter((s) => s.length > 0 && s.length <= 300) },
  );
  const raw = fc.constantFrom(
    "%FF",
    "%00",
    "%",
    "%2F",
    "a%2Fb",
    "%E2%80%AE",
    "%C0%AE",
    "%25",
    "%7E",
  );
  return fc.oneof(
    { weight: 6, arbitrary: text.map((t) => ({ text: t })) },
    { weight: 1, arbitrary: raw.map((r) => ({ raw: r })) },
  );
};

const auth: fc.Arbitrary<Auth> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: "none" as const }) },
  {
    weight: 4,
    arbitrary: fc.constantFrom("user" as const, "admin" as const).map((as) => ({
      kind: "token" as const,
      as,
      variant: "valid" as const,
    })),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("token" as const),
      as: fc.constantFrom("user" as const, "admin" as const),
      variant: fc.constantFrom("lowercase" as const, "expired" as const, "other-key" as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          "Bearer",
          "Basic dXNlcjpwYXNz",
          "Bearer a.b.c",
          "Bearer eyJhbGciOiJub25lIn0.e30.",
        ),
        ascii(60).map((s) => `Bearer ${s}`),
        ascii(60),
      )
      .map((header) => ({ kind: "raw" as const, header })),
  },
);

const otherContentTypes = fc.constantFrom(
  "application/json; charset=utf-8",
  "APPLICATION/JSON",
  "application/merge-patch+json",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "",
  "application/jsonp",
  undefined,
);

const extraHeaders = fc.subarray([
  ["X-Request-Id", "fuzz-1"],
  ["Accept", "text/html"],
  ["X-Forwarded-For", "203.0.113.9, ::1"],
  ["Origin", "https://evil.example"],
] as [string, string][]);

const query = fc.array(
  fc.tuple(
    fc.oneof(fc.constantFrom("q", "limit", "username", "__proto__"), ascii(8)),
    strangeText.filter((s) => s.length <= 300).map(wellFormed),
  ),
  { maxLength: 2 },
);

/** Every kind of request for `op`, valid and not. */
export function requestsFor(
  doc: OpenApiDocument,
  op: DocumentedOperation,
): fc.Arbitrary<FuzzRequest> {
  const names = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
  const params = fc.record(Object.fromEntries(names.map((n) => [n, segment(doc, op, n)])));
  let body: fc.Arbitrary<Body>;
  let contentType: fc.Arbitrary<string | undefined>;
  if (op.body) {
    const valid = validValue(doc, op.body, hints);
    body = fc.oneof(
      { weight: 6, arbitrary: valid.map((value) => ({ kind: "json" as const, value })) },
      {
        weight: 4,
        arbitrary: invalidValue(doc, op.body, valid).map((value) => ({
          kind: "json" as const,
          value,
        })),
      },
      { weight: 1, arbitrary: malformedBody.map((text) => ({ kind: "text" as const, text })) },
      {
        weight: 1,
        arbitrary: fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => ({
          kind: "bytes" as const,
          bytes: new Uint8Array([...Buffer.from('{"username":"'), ...b, ...Buffer.from('"}')]),
        })),
      },
      { weight: 1, arbitrary: fc.constant({ kind: "none" as const }) },
    );
    contentType = fc.oneof(
      { weight: 8, arbitrary: fc.constant("application/json") },
      otherContentTypes,
    );
  } else {
    // A Request cannot carry a body with GET or HEAD.
    const canCarry = op.method !== "GET" && op.method !== "HEAD";
    body = fc.oneof(
      { weight: 8, arbitrary: fc.constant({ kind: "none" as const }) },
      ...(canCarry
        ? [
            fc.jsonValue({ maxDepth: 2 }).map((value) => ({ kind: "json" as const, value })),
            malformedBody.map((text) => ({ kind: "text" as const, text })),
          ]
        : []),
    );
    contentType = fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      fc.constantFrom("application/json", "text/plain"),
    );
  }
  return fc.record({ self, params, query, auth, contentType, headers: extraHeaders, body });
}

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

/** The path with its parameters filled in; undefined when one would be a `.` or `..` segment. */
export function pathOf(op: DocumentedOperation, req: FuzzRequest, world: FuzzWorld) {
  let dot = false;
  const path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const p = req.params[name];
    const s = !p
      ? ""
      : "raw" in p
        ? p.raw
        : encodeURIComponent(wellFormed(String(fill(p.text, world, req.self))));
    if (s === "" || isDotSegment(s)) dot = true;
    return s;
  });
  if (dot) return undefined;
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
