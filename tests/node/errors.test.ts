import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { HTTPException } from "hono/http-exception";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  ApiError,
  alreadyTaken,
  type ErrorCode,
  errorTable,
  internalError,
  invalidCredentials,
  notFound,
  serviceUnavailable,
  tooManyRequests,
} from "../../src/errors";
import { createRouter } from "../../src/http/create-router";
import { errorHandler } from "../../src/http/error-handler";
import { errorResponses } from "../../src/http/openapi";
import { createTestApi, type NodeTestApi } from "../support/node-api";

const codes = Object.keys(errorTable) as ErrorCode[];

let api: NodeTestApi;
beforeAll(async () => {
  api = await createTestApi();
});
afterAll(() => api.close());

describe("the error table", () => {
  it.each(codes)("an ApiError %s answers the table's status with {msg, code}", (code) => {
    const error = new ApiError(code, "Something.");
    expect(error.status).toBe(errorTable[code].status);
    expect(error.body).toEqual({ msg: "Something.", code });
  });

  it("the helpers keep the contract's messages and headers", () => {
    expect(notFound("user").body).toEqual({ msg: "User not found.", code: "NOT_FOUND" });
    expect(notFound().body).toEqual({ msg: "Not found.", code: "NOT_FOUND" });
    expect(alreadyTaken().body.msg).toBe("Username or email is already taken.");
    expect(invalidCredentials().body.msg).toBe("Invalid username or password.");
    expect(invalidCredentials().options.headers).toEqual({ "WWW-Authenticate": "Bearer" });
    expect(serviceUnavailable().options.headers).toEqual({ "Retry-After": "5" });
  });

  it("Retry-After is whole seconds, rounded up, at least 1", () => {
    expect(tooManyRequests(0.2).options.headers).toEqual({ "Retry-After": "1" });
    expect(tooManyRequests(59.01).options.headers).toEqual({ "Retry-After": "60" });
  });

  it("an unknown path answers the NOT_FOUND body of the table", async () => {
    const res = await api.app.request("/no/such/path");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ msg: "Not found.", code: "NOT_FOUND" });
  });
});

describe("Hono's own HTTPExceptions", () => {
  const app = createRouter();
  app.get("/throw/:status", (c) => {
    throw new HTTPException(Number(c.req.param("status")) as 400, { message: "from hono" });
  });
  app.onError(errorHandler);

  it.each([
    [400, "VALIDATION_ERROR", "Invalid request."],
    [401, "UNAUTHORIZED", "from hono"],
    [404, "NOT_FOUND", "from hono"],
    [413, "PAYLOAD_TOO_LARGE", "from hono"],
  ])("a %i becomes the first code of its status in the table", async (status, code, msg) => {
    const res = await app.request(`/throw/${status}`);
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ msg, code });
  });

  it("a 5xx becomes INTERNAL without its message", async () => {
    const original = console.error;
    console.error = () => {};
    try {
      const res = await app.request("/throw/502");
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ msg: "Internal server error.", code: "INTERNAL" });
    } finally {
      console.error = original;
    }
  });
});

describe("a query written on a socket the database has dropped (postgres.js on workerd)", () => {
  // workerd's TypeError, as Drizzle hands it on (wrapped, the original as its cause).
  const closedWrite = () => new TypeError("This WritableStream has been closed.");
  const app = createRouter();
  app.get("/closed/:wrapped", (c) => {
    const error = closedWrite();
    throw c.req.param("wrapped") === "yes"
      ? new Error("Failed query: select 1", { cause: error })
      : error;
  });
  app.get("/other", () => {
    throw new TypeError("Cannot read properties of undefined (reading 'x')");
  });
  app.onError(errorHandler);

  it.each(["no", "yes"])("is a 503, as any lost connection (wrapped: %s)", async (wrapped) => {
    const original = console.error;
    console.error = () => {};
    try {
      const res = await app.request(`/closed/${wrapped}`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { code: string }).code).toBe("SERVICE_UNAVAILABLE");
      // Any other TypeError is still ours: a 500.
      expect((await app.request("/other")).status).toBe(500);
    } finally {
      console.error = original;
    }
  });
});

describe("errorResponses documents a route's codes", () => {
  it("one response per status, described by the route's codes with that status, plus 405 and 503", () => {
    const responses = errorResponses("VALIDATION_ERROR", "INVALID_RESET_TOKEN", "RATE_LIMITED");
    expect(Object.keys(responses).sort()).toEqual(["400", "405", "429", "503"]);
    expect(responses[400].description).toBe(
      `VALIDATION_ERROR: ${errorTable.VALIDATION_ERROR.description}; ` +
        `INVALID_RESET_TOKEN: ${errorTable.INVALID_RESET_TOKEN.description}`,
    );
    expect(responses[405].description).toBe(
      `METHOD_NOT_ALLOWED: ${errorTable.METHOD_NOT_ALLOWED.description}`,
    );
    expect(responses[503].description).toBe(
      `SERVICE_UNAVAILABLE: ${errorTable.SERVICE_UNAVAILABLE.description}`,
    );
  });
});

describe("a database error in the middle of a query", () => {
  // A trigger makes Postgres refuse the insert of a registration, after the hash was computed.
  beforeAll(async () => {
    await api.db.execute(
      sql.raw(`create function refuse_boom() returns trigger language plpgsql as $$
        begin raise exception 'registration refused by a test trigger'; end $$`),
    );
    await api.db.execute(
      sql.raw(`create trigger refuse_boom before insert on users for each row
        when (new.username like 'boom%') execute function refuse_boom()`),
    );
  });
  afterAll(async () => {
    await api.db.execute(sql.raw("drop trigger refuse_boom on users"));
    await api.db.execute(sql.raw("drop function refuse_boom"));
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("is a 500 INTERNAL, logged with the request id but never with the query's parameters", async () => {
    const printed: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        printed.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      });
    }
    const password = "a recognisable password";
    // The stored form the fast hasher gives it, which the insert carries as a bind parameter.
    const hash = `$fake$${createHash("sha256").update(password).digest("hex")}`;
    const res = await api.app.request("/api/user/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        username: "boom_user",
        first_name: "Boom",
        last_name: "User",
        email: "boom_user@example.com",
        password,
      }),
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual(internalError().body);
    expect(await api.userRow("boom_user")).toBeUndefined();

    for (const line of printed) {
      expect(line).not.toContain(hash);
      expect(line).not.toContain(password);
      expect(line).not.toMatch(/insert into/i);
    }

    const requestId = res.headers.get("x-request-id") as string;
    const logged = printed.filter((line) => line.includes(requestId));
    expect(logged.some((line) => line.includes("registration refused by a test trigger"))).toBe(
      true,
    );
  });
});
