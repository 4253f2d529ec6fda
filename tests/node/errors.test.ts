import { HTTPException } from "hono/http-exception";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ApiError,
  alreadyTaken,
  type ErrorCode,
  errorTable,
  invalidCredentials,
  notFound,
  serviceUnavailable,
  tooManyRequests,
} from "../../src/errors";
import { createRouter } from "../../src/lib/create-router";
import { errorHandler } from "../../src/lib/error-handler";
import { errorResponses } from "../../src/lib/openapi";
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

describe("errorResponses documents a route's codes", () => {
  it("one response per status, described by the route's codes with that status, plus 503", () => {
    const responses = errorResponses("VALIDATION_ERROR", "INVALID_RESET_TOKEN", "RATE_LIMITED");
    expect(Object.keys(responses).sort()).toEqual(["400", "429", "503"]);
    expect(responses[400].description).toBe(
      `VALIDATION_ERROR: ${errorTable.VALIDATION_ERROR.description}; ` +
        `INVALID_RESET_TOKEN: ${errorTable.INVALID_RESET_TOKEN.description}`,
    );
    expect(responses[503].description).toBe(
      `SERVICE_UNAVAILABLE: ${errorTable.SERVICE_UNAVAILABLE.description}`,
    );
  });
});
