import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

// The parts of an OpenAPI 3.1 document that the contract fuzzer reads.

/** A JSON Schema (2020-12, as OpenAPI 3.1 uses) in the subset this API's document uses. */
export type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  [keyword: string]: unknown;
};

type Media = Record<string, { schema: Schema }>;
export type Parameter = { name: string; in: string; required?: boolean; schema?: Schema };
export type Operation = {
  operationId?: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Media };
  responses: Record<string, { description: string; content?: Media }>;
  security?: Record<string, string[]>[];
};
export type OpenApiDocument = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
};

/** One operation of the document, ready to be fuzzed. */
export type DocumentedOperation = {
  id: string;
  method: string;
  path: string;
  operation: Operation;
  /** The JSON request body's schema, when the operation takes one. */
  body?: Schema;
};

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

export function operationsOf(doc: OpenApiDocument): DocumentedOperation[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, operation]) => ({
        id: operation.operationId ?? `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        operation,
        body: operation.requestBody?.content["application/json"]?.schema,
      })),
  );
}

/** Follows `#/components/schemas/X` references until a schema that is not one. */
export function deref(doc: OpenApiDocument, schema: Schema): Schema {
  let current = schema;
  for (let hops = 0; current.$ref !== undefined; hops++) {
    const name = /^#\/components\/schemas\/([^/]+)$/.exec(current.$ref)?.[1];
    const target = name === undefined ? undefined : doc.components?.schemas?.[name];
    if (!target || hops > 32) throw new Error(`unresolvable $ref ${current.$ref}`);
    current = target;
  }
  return current;
}

/** The documented response for a status: exact, then `4XX`-style ranges, then `default`. */
export function documentedResponse(operation: Operation, status: number) {
  const { responses } = operation;
  return responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
}

const BASE = "https://openapi.invalid/document";

/**
 * Copies a schema with every object closed (`additionalProperties: false` where the document
 * leaves it open) and `allOf` merged into one object, so that a response field the document does
 * not name (a leaked hash, say) fails validation; references point into the copied components.
 */
function closed(doc: OpenApiDocument, schema: Schema): Schema {
  if (schema.$ref) return { $ref: schema.$ref.replace("#/components/schemas/", `${BASE}#/$defs/`) };
  const out: Schema = { ...schema };
  if (schema.allOf) {
    delete out.allOf;
    out.type = "object";
    out.properties = { ...schema.properties };
    out.required = [...(schema.required ?? [])];
    for (const part of schema.allOf.map((p) => deref(doc, p))) {
      if (part.allOf || (part.type !== "object" && part.type !== undefined)) {
        throw new Error("allOf is supported for plain objects only");
      }
      Object.assign(out.properties, part.properties);
      out.required.push(...(part.required ?? []));
    }
  }
  if (out.properties) {
    out.properties = Object.fromEntries(
      Object.entries(out.properties).map(([k, v]) => [k, closed(doc, v)]),
    );
    out.additionalProperties ??= false;
  }
  if (out.items) out.items = closed(doc, out.items);
  for (const key of ["anyOf", "oneOf"] as const) {
    if (out[key]) out[key] = out[key].map((s) => closed(doc, s));
  }
  return out;
}

/**
 * Validates response bodies against the document's schema for their operation and status, with
 * objects closed (see `closed`). Formats are checked (email, date-time…); `password` is a hint.
 */
export function responseValidator(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addFormat("password", true);
  const defs = Object.fromEntries(
    Object.entries(doc.components?.schemas ?? {}).map(([name, s]) => [name, closed(doc, s)]),
  );
  ajv.addSchema({ $id: BASE, $defs: defs });
  const compiled = new Map<Schema, ValidateFunction>();

  /** Problems with `body` as the response of `operation` with `status` (none: an empty list). */
  return (operation: Operation, status: number, body: unknown): string[] => {
    const schema = documentedResponse(operation, status)?.content?.["application/json"]?.schema;
    if (!schema) return [`no JSON schema documented for ${status}`];
    let validate = compiled.get(schema);
    if (!validate) {
      validate = ajv.compile(closed(doc, schema));
      compiled.set(schema, validate);
    }
    if (validate(body)) return [];
    return (validate.errors ?? []).map(
      (e) => `${e.instancePath || "(body)"} ${e.message ?? ""} ${JSON.stringify(e.params)}`,
    );
  };
}
