import fc from "fast-check";
import { deref, type OpenApiDocument, type Schema } from "./openapi-document";

// fast-check arbitraries from the JSON schemas of an OpenAPI document, for the subset this API
// uses (objects, strings with bounds, a pattern or the email format, integers, booleans, enums).
// Anything else throws, so a new kind of schema cannot go unfuzzed without anyone noticing.

/**
 * Extra values for a property by its name (an existing account's username, a live token), and
 * how often to use them against the schema's own values (weight 1).
 */
export type Hints = (property: string) => fc.WeightedArbitrary<unknown> | undefined;

const codePoints = (s: string) => [...s].length;

/** Mostly plain addresses a strict validator accepts, sometimes RFC 5322's stranger ones. */
const emailAddress = (max: number) =>
  fc
    .oneof(
      {
        weight: 4,
        arbitrary: fc.stringMatching(
          /^[a-z0-9]{1,16}([._+-][a-z0-9]{1,8})?@[a-z0-9]{1,12}\.[a-z]{2,6}$/,
        ),
      },
      { weight: 1, arbitrary: fc.emailAddress() },
    )
    .filter((s) => s.length <= max);

function text(schema: Schema): fc.Arbitrary<string> {
  const minLength = schema.minLength ?? 0;
  const maxLength = schema.maxLength ?? Math.max(minLength, 64);
  if (schema.format === "email") return emailAddress(maxLength);
  if (schema.pattern !== undefined) {
    const n = (s: string) => codePoints(s);
    return fc
      .stringMatching(new RegExp(schema.pattern), { maxLength })
      .filter((s) => n(s) >= minLength && n(s) <= maxLength);
  }
  return fc.oneof(
    fc.string({ unit: "grapheme-ascii", minLength, maxLength }),
    fc.string({ unit: "binary", minLength, maxLength }),
  );
}

/** Values the schema accepts (the server may still refuse them for rules it cannot express). */
export function validValue(
  doc: OpenApiDocument,
  schema: Schema,
  hints: Hints,
): fc.Arbitrary<unknown> {
  const s = deref(doc, schema);
  if (s.enum) return fc.constantFrom(...s.enum);
  if (s.const !== undefined) return fc.constant(s.const);
  switch (s.type) {
    case "string":
      return text(s);
    case "integer":
      return fc.integer({ min: s.minimum ?? -1_000_000, max: s.maximum ?? 1_000_000 });
    case "boolean":
      return fc.boolean();
    case "array":
      if (s.items) return fc.array(validValue(doc, s.items, hints), { maxLength: 4 });
      break;
    case "object": {
      if (typeof s.additionalProperties === "object") break;
      const properties = Object.entries(s.properties ?? {}).map(([key, property]) => {
        const own = validValue(doc, property, hints);
        const hint = hints(key);
        return [key, hint ? fc.oneof({ weight: 1, arbitrary: own }, hint) : own] as const;
      });
      return fc.record(Object.fromEntries(properties), { requiredKeys: s.required ?? [] });
    }
  }
  throw new Error(`the fuzzer cannot generate values for ${JSON.stringify(s)}`);
}

/** A long string, built when the request is sent, so a counterexample stays readable. */
export class Repeated {
  constructor(
    readonly unit: string,
    readonly times: number,
    readonly before = "",
    readonly after = "",
  ) {}
  get text() {
    return this.before + this.unit.repeat(this.times) + this.after;
  }
  [fc.toStringMethod]() {
    const parts = [
      JSON.stringify(this.before),
      `${JSON.stringify(this.unit)}.repeat(${this.times})`,
    ];
    return [...parts, JSON.stringify(this.after)].filter((p) => p !== '""').join(" + ");
  }
}

/** Text meant to break things: NUL, lone surrogates, bidi controls, odd case folds. */
export const strangeText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "user\u0000",
    "\ud800",
    "a\udfffb",
    "\u202euser",
    "\ufeff",
    "İ",
    "e\u0301",
    "👩‍👩‍👧",
    "\u0085\u2028",
    "' OR '1'='1",
    "%00",
    "../..",
    "\\",
  ),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom("a", "\u0000", "\ud800", "\udc00", "\t", "\u00a0", "\u200b"),
    maxLength: 12,
  }),
);

/** Strings past every bound: a field's, and (40,000 × "é") the 64 KiB body limit. */
export const hugeText: fc.Arbitrary<Repeated> = fc.oneof(
  fc.constantFrom(51, 255, 300, 5_000).map((n) => new Repeated("x", n)),
  fc.constant(new Repeated("é", 40_000)),
);

const jsonType = (v: unknown) =>
  v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v;

/** JSON values of another type than the schema's. */
const otherTypeThan = (schema: Schema) =>
  fc
    .oneof(
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.string({ maxLength: 8 }),
      fc.array(fc.integer(), { maxLength: 2 }),
      fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
    )
    .filter((v) => {
      const t = jsonType(v);
      return t !== schema.type && !(schema.type === "number" && t === "integer");
    });

const withKey = (value: unknown, key: string, v: unknown) => ({ ...(value as object), [key]: v });
const withoutKey = (value: unknown, key: string) => {
  const { [key]: _, ...rest } = value as Record<string, unknown>;
  return rest;
};

/**
 * Bodies the schema refuses, made from valid ones: a required field dropped, a field of the wrong
 * type or holding strange text, an unknown field, or not an object at all.
 */
export function invalidValue(
  doc: OpenApiDocument,
  schema: Schema,
  valid: fc.Arbitrary<unknown>,
): fc.Arbitrary<unknown> {
  const s = deref(doc, schema);
  const properties = Object.entries(s.properties ?? {});
  const keys = properties.map(([key]) => key);
  const mutations: fc.Arbitrary<unknown>[] = [
    fc
      .tuple(
        valid,
        fc.oneof(
          fc.constantFrom("__proto__", "constructor", "id", "role", "active"),
          fc.string({ minLength: 1, maxLength: 12 }),
        ),
        fc.jsonValue({ maxDepth: 2 }),
      )
      .filter(([, key]) => !keys.includes(key))
      .map(([value, key, v]) => withKey(value, key, v)),
    fc.jsonValue({ maxDepth: 2 }).filter((v) => jsonType(v) !== "object"),
  ];
  if (s.required?.length) {
    mutations.push(
      fc.tuple(valid, fc.constantFrom(...s.required)).map(([value, key]) => withoutKey(value, key)),
    );
  }
  if (properties.length) {
    const property = fc.constantFrom(...properties);
    mutations.push(
      fc
        .tuple(valid, property)
        .chain(([value, [key, p]]) =>
          otherTypeThan(deref(doc, p)).map((v) => withKey(value, key, v)),
        ),
      fc
        .tuple(valid, property, fc.oneof(strangeText, hugeText))
        .map(([value, [key], v]) => withKey(value, key, v)),
    );
  }
  return fc.oneof(...mutations);
}

/** Request bodies that are not JSON, or JSON no schema here accepts, or too large. */
export const malformedBody: fc.Arbitrary<string | Repeated> = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "{",
    "}",
    "[",
    "nul",
    '{"a":}',
    "{'a':1}",
    '{"a":1,}',
    "\ufeff{}",
    "{}x",
  ),
  fc.string({ maxLength: 40 }),
  // Deep nesting, still under the 64 KiB limit.
  fc.constant(new Repeated("[", 60_000)),
  fc.constant(new Repeated('{"a":', 12_000)),
  fc.constant(new Repeated("x", 70_000, '{"a":"', '"}')),
);
