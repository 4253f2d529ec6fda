import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ErrorCode, errorTable } from "../../src/errors";
import { type ContractApi, PUBLIC_USER_KEYS, startApi } from "../support/contract-api";

let api: ContractApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

type Operation = {
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { content: Record<string, { schema: { $ref?: string } }> };
  responses: Record<
    string,
    {
      description: string;
      content?: Record<
        string,
        { schema: { $ref?: string }; examples?: Record<string, { value: unknown }> }
      >;
      headers?: Record<string, { schema?: { type?: string } }>;
    }
  >;
};
type OpenApiDoc = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: {
    securitySchemes: Record<string, Record<string, string>>;
    schemas: Record<
      string,
      { properties?: Record<string, { enum?: string[] }>; required?: string[] }
    >;
  };
};

const loadDoc = async () => {
  const res = await api.request("/openapi.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return (await res.json()) as OpenApiDoc;
};

const operation = (doc: OpenApiDoc, path: string, method: string) => {
  const op = doc.paths[path]?.[method];
  expect(op, `${method.toUpperCase()} ${path} in /openapi.json`).toBeDefined();
  return op as Operation;
};

const USER_PATH = "/api/user/{username}";
const PUBLIC_ROUTES: [string, string][] = [
  ["/api/user/register", "post"],
  ["/api/user/login", "post"],
  ["/api/user/forget_password", "post"],
  ["/api/user/reset_password", "post"],
  ["/health", "get"],
  ["/ready", "get"],
];
const USER_ROUTES: [string, string][] = [
  [USER_PATH, "get"],
  [USER_PATH, "put"],
  [USER_PATH, "delete"],
];
/** Routes on the caller's own account or for ADMINs only, with the 4xx each documents. */
const SELF_AND_ADMIN_ROUTES: [string, string, string[]][] = [
  ["/api/users", "get", ["400", "401", "403"]],
  ["/api/me", "get", ["401"]],
  ["/api/me", "patch", ["400", "401", "413", "415"]],
];

describe("GET /health", () => {
  it("answers 200 JSON without a token", async () => {
    const res = await api.request("/health");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  });
});

describe("GET /ready", () => {
  it("answers 200 JSON when the database answers", async () => {
    const res = await api.request("/ready");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  });
});

describe("GET /", () => {
  it("redirects to /doc", async () => {
    const res = await api.request("/", { redirect: "manual" });
    expect([301, 302, 303, 307, 308]).toContain(res.status);
    expect(new URL(res.headers.get("location") ?? "", "http://localhost").pathname).toBe("/doc");
  });
});

describe("GET /doc", () => {
  it("is an HTML Swagger UI page that loads /openapi.json", async () => {
    const res = await api.request("/doc");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toMatch(/<html/i);
    expect(html).toMatch(/swagger/i);
    expect(html).toContain("/openapi.json");
  });
});

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.x document with a title and version", async () => {
    const doc = await loadDoc();
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info.title).toEqual(expect.any(String));
    expect(doc.info.version).toEqual(expect.any(String));
  });

  it.each([...PUBLIC_ROUTES, ...USER_ROUTES, ...SELF_AND_ADMIN_ROUTES.map(([p, m]) => [p, m])])(
    "lists %s %s with a success response",
    async (path, method) => {
      const op = operation(await loadDoc(), path, method);
      expect(Object.keys(op.responses).some((s) => /^2\d\d$/.test(s))).toBe(true);
    },
  );

  it("declares the bearerAuth security scheme as an HTTP bearer JWT", async () => {
    const doc = await loadDoc();
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({
      type: "http",
      scheme: "bearer",
    });
  });

  it.each(USER_ROUTES)(
    "%s %s requires bearerAuth and documents 401, 403 and 404",
    async (path, method) => {
      const op = operation(await loadDoc(), path, method);
      expect(op.security).toEqual(expect.arrayContaining([{ bearerAuth: [] }]));
      for (const status of ["401", "403", "404"]) {
        expect(op.responses[status], `${method} ${path} ${status}`).toBeDefined();
      }
      expect(op.parameters).toEqual(
        expect.arrayContaining([expect.objectContaining({ name: "username", in: "path" })]),
      );
    },
  );

  it.each(SELF_AND_ADMIN_ROUTES)(
    "%s %s requires bearerAuth and documents %j",
    async (path, method, statuses) => {
      const op = operation(await loadDoc(), path, method);
      expect(op.security).toEqual(expect.arrayContaining([{ bearerAuth: [] }]));
      for (const status of [...statuses, "503"]) {
        expect(op.responses[status], `${method} ${path} ${status}`).toBeDefined();
      }
    },
  );

  it("documents GET /api/users's query parameters and its page", async () => {
    const doc = await loadDoc();
    const op = operation(doc, "/api/users", "get");
    const params = (op.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name);
    expect(params.sort()).toEqual(["active", "cursor", "limit", "q", "role", "verified"]);
    const ref = op.responses["200"]?.content?.["application/json"]?.schema.$ref;
    const page = doc.components.schemas[ref?.split("/").pop() ?? ""];
    expect(Object.keys(page?.properties ?? {}).sort()).toEqual(["next_cursor", "total", "users"]);
  });

  it("describes /api/me with the public user, PATCH with first and last name only", async () => {
    const doc = await loadDoc();
    for (const method of ["get", "patch"]) {
      const ref = operation(doc, "/api/me", method).responses["200"]?.content?.["application/json"]
        ?.schema.$ref;
      const schema = doc.components.schemas[ref?.split("/").pop() ?? ""];
      expect(Object.keys(schema?.properties ?? {}).sort(), method).toEqual(PUBLIC_USER_KEYS);
    }
    const body = operation(doc, "/api/me", "patch").requestBody?.content["application/json"]?.schema
      .$ref;
    const schema = doc.components.schemas[body?.split("/").pop() ?? ""];
    expect(Object.keys(schema?.properties ?? {}).sort()).toEqual(["first_name", "last_name"]);
  });

  it("documents PUT's body errors (400, 409, 413, 415) and the update body", async () => {
    const op = operation(await loadDoc(), USER_PATH, "put");
    for (const status of ["400", "409", "413", "415"]) {
      expect(op.responses[status], `PUT ${status}`).toBeDefined();
    }
    expect(op.requestBody?.content["application/json"]).toBeDefined();
  });

  it("documents register's 400 and 409 and login's 401", async () => {
    const doc = await loadDoc();
    const register = operation(doc, "/api/user/register", "post");
    expect(register.responses["400"]).toBeDefined();
    expect(register.responses["409"]).toBeDefined();
    expect(operation(doc, "/api/user/login", "post").responses["401"]).toBeDefined();
  });

  it("documents 503 on /ready", async () => {
    expect(operation(await loadDoc(), "/ready", "get").responses["503"]).toBeDefined();
  });

  it("every documented 4xx/5xx response uses the shared error schema with msg and code", async () => {
    const doc = await loadDoc();
    const refs = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, response] of Object.entries(op.responses)) {
          if (!/^[45]\d\d$/.test(status)) continue;
          const ref = response.content?.["application/json"]?.schema.$ref;
          expect(ref, `${method} ${path} ${status}`).toMatch(/^#\/components\/schemas\//);
          refs.add(ref as string);
        }
      }
    }
    expect(refs.size).toBe(1);
    const name = [...refs][0]?.split("/").pop() as string;
    const schema = doc.components.schemas[name];
    expect(Object.keys(schema?.properties ?? {})).toEqual(expect.arrayContaining(["msg", "code"]));
    expect(schema?.required).toEqual(expect.arrayContaining(["msg", "code"]));
  });

  it("the Error schema's code is an enum of exactly the codes of the error table", async () => {
    const doc = await loadDoc();
    expect(doc.components.schemas.Error?.properties?.code?.enum).toEqual(Object.keys(errorTable));
  });

  it("each documented error status is described by codes of that status from the table", async () => {
    const doc = await loadDoc();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, response] of Object.entries(op.responses)) {
          if (!/^[45]\d\d$/.test(status)) continue;
          const where = `${method} ${path} ${status}`;
          const parts = response.description.split("; ");
          expect(parts.length, where).toBeGreaterThan(0);
          for (const part of parts) {
            const [code, description] = part.split(/: (.*)/s) as [ErrorCode, string];
            const entry: { status: number; description: string; alsoStatus?: number } =
              errorTable[code];
            expect([entry.status, entry.alsoStatus], where).toContain(Number(status));
            expect(entry.description, where).toBe(description);
          }
        }
      }
    }
  });

  it("describes the public user without any hash or token version", async () => {
    const doc = await loadDoc();
    const ref = operation(doc, USER_PATH, "get").responses["200"]?.content?.["application/json"]
      ?.schema.$ref;
    const schema = doc.components.schemas[ref?.split("/").pop() ?? ""];
    expect(Object.keys(schema?.properties ?? {}).sort()).toEqual(PUBLIC_USER_KEYS);
  });

  it("does not require a token for the public routes", async () => {
    const doc = await loadDoc();
    for (const [path, method] of PUBLIC_ROUTES) {
      const security = operation(doc, path, method).security ?? [];
      expect(security, `${method} ${path}`).not.toEqual(
        expect.arrayContaining([{ bearerAuth: [] }]),
      );
    }
  });

  it("documents on every operation the 405 its path answers to other methods, with Allow", async () => {
    const doc = await loadDoc();
    for (const [path, ops] of Object.entries(doc.paths)) {
      const documented = Object.keys(ops).map((m) => m.toUpperCase());
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(op.responses["405"]?.description, where).toBe(
          `METHOD_NOT_ALLOWED: ${errorTable.METHOD_NOT_ALLOWED.description}`,
        );
        expect(op.responses["405"]?.headers?.Allow?.schema?.type, where).toBe("string");
      }
      // And the path does answer so: 405, Allow naming the documented methods (GET brings HEAD).
      const other = ["PATCH", "PUT", "POST"].find((m) => !documented.includes(m)) as string;
      const res = await api.send(other, path.replace("{username}", "someone"));
      expect(res.status, `${other} ${path}`).toBe(405);
      const allow = (res.headers.get("allow") ?? "").split(/,\s*/).filter((m) => m !== "HEAD");
      expect(allow.sort(), `${other} ${path}`).toEqual(documented.sort());
      expect(((await res.json()) as { code: string }).code).toBe("METHOD_NOT_ALLOWED");
    }
  });

  it("gives each documented error response an example of each of its own codes", async () => {
    const doc = await loadDoc();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, response] of Object.entries(op.responses)) {
          if (!/^[45]\d\d$/.test(status)) continue;
          const where = `${method.toUpperCase()} ${path} ${status}`;
          const codes = response.description.split("; ").map((part) => part.split(":")[0]);
          const examples = response.content?.["application/json"]?.examples ?? {};
          expect(Object.keys(examples), where).toEqual(codes);
          for (const [code, { value }] of Object.entries(examples)) {
            expect(value, `${where} ${code}`).toEqual({
              msg: expect.stringMatching(/\S/),
              code,
              ...(code === "VALIDATION_ERROR" && { details: expect.any(Array) }),
            });
          }
        }
      }
    }
  });
});
