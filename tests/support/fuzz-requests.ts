import fc from "fast-check";
import { type Auth, Known, type Self } from "./fuzz-world";
import type { DocumentedOperation, OpenApiDocument } from "./openapi-document";
import {
  type Hints,
  invalidValue,
  malformedBody,
  type Repeated,
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
export const wellFormed = (s: string) =>
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
