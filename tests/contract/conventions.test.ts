import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import { type ContractApi, startApi } from "../support/contract-api";

let api: ContractApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

const MAX_BODY = 64 * 1024;
const encoder = new TextEncoder();

let counter = 0;
/** A valid registration body for a name no other test uses. */
const registration = (extra: Record<string, unknown> = {}) => {
  const username = `conv${++counter}_${Math.random().toString(36).slice(2, 7)}`;
  return {
    username,
    first_name: "Ada",
    last_name: "Lovelace",
    email: `${username}@example.com`,
    password: "correct horse battery",
    ...extra,
  };
};

const allUsers = () => api.db.select().from(users).orderBy(users.id);

const post = (path: string, body: RequestInit["body"], headers: Record<string, string> = {}) =>
  api.request(path, { method: "POST", headers, body });

/** What every error body must look like, whatever went wrong. */
async function expectErrorShape(res: Response, status: number, code?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const text = await res.text();
  expectNothingInternal(text);
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(Object.keys(body).every((k) => ["msg", "code", "details"].includes(k))).toBe(true);
  expect(typeof body.msg).toBe("string");
  expect((body.msg as string).length).toBeGreaterThan(0);
  expect(body.code).toMatch(/^[A-Z]+(_[A-Z]+)*$/);
  if (code) expect(body.code).toBe(code);
  if ("details" in body) {
    expect(Array.isArray(body.details)).toBe(true);
    for (const d of body.details as Record<string, unknown>[]) {
      expect(Object.keys(d).sort()).toEqual(["message", "path"]);
      expect(typeof d.path).toBe("string");
      expect(typeof d.message).toBe("string");
    }
  }
  return body;
}

/** No SQL, driver or stack text in a response. */
function expectNothingInternal(text: string) {
  expect(text).not.toMatch(/\bselect\b|\binsert\b|\bupdate "|\bfrom "/i);
  expect(text).not.toMatch(/postgres|pglite|drizzle|sqlstate|syntax error/i);
  expect(text).not.toMatch(/\bat \S+ \(|\bat (file|node):|\.ts:\d+|\.js:\d+/);
  expect(text).not.toMatch(/\$argon2|\$fake\$|password_hash|token_version/i);
}

describe("malformed JSON", () => {
  it.each([
    ["a truncated object", '{"username": "x",'],
    ["single quotes", "{'username': 'x'}"],
    ["trailing garbage", '{"username": "x"} trailing'],
    ["an empty body", ""],
    ["a bare word", "undefined"],
  ])("is refused with 400 INVALID_JSON on register (%s), creating nothing", async (_l, body) => {
    const before = await allUsers();
    const res = await api.send("POST", "/api/user/register", body);
    await expectErrorShape(res, 400, "INVALID_JSON");
    expect(await allUsers()).toEqual(before);
  });

  it("is refused with 400 INVALID_JSON on login and reset_password", async () => {
    for (const path of ["/api/user/login", "/api/user/reset_password"]) {
      await expectErrorShape(await api.send("POST", path, "{nope"), 400, "INVALID_JSON");
    }
  });

  it("is refused with 400 INVALID_JSON on PATCH /api/me, changing nothing", async () => {
    const user = await api.signedIn();
    const before = await allUsers();
    const res = await api.send("PATCH", "/api/me", '{"first_name":', user.token);
    await expectErrorShape(res, 400, "INVALID_JSON");
    expect(await allUsers()).toEqual(before);
  });

  it("is refused with 400 INVALID_JSON on PUT /api/user/{username}, changing nothing", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const before = await allUsers();
    const res = await api.send("PUT", `/api/user/${user.username}`, '{"first_name":', admin.token);
    await expectErrorShape(res, 400, "INVALID_JSON");
    expect(await allUsers()).toEqual(before);
  });
});

describe("Content-Type", () => {
  const json = () => JSON.stringify(registration());

  it("a body without any Content-Type gets 415 UNSUPPORTED_MEDIA_TYPE", async () => {
    const body = registration();
    const res = await post("/api/user/register", encoder.encode(JSON.stringify(body)));
    await expectErrorShape(res, 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(await api.userRow(body.username)).toBeUndefined();
  });

  it.each([
    ["text/plain", "text/plain"],
    ["text/plain with charset", "text/plain; charset=utf-8"],
    ["a form", "application/x-www-form-urlencoded"],
    ["multipart", "multipart/form-data; boundary=x"],
    ["XML", "application/xml"],
    ["a look-alike", "application/jsonx"],
    // Only application/json: the body is read as UTF-8 JSON, nothing else.
    ["a JSON-based vendor type", "application/vnd.api+json"],
    ["a +json type", "application/merge-patch+json"],
    ["text/json", "text/json"],
    ["JSON in Latin-1", "application/json; charset=latin1"],
    ["JSON in UTF-16", "application/json; charset=utf-16"],
    ["JSON in a quoted UTF-16", 'application/json; charset="UTF-16"'],
    ["JSON with another parameter", "application/json; version=2"],
    ["JSON with a UTF-8 look-alike charset", "application/json; charset=utf-88"],
  ])("%s gets 415 UNSUPPORTED_MEDIA_TYPE even with a valid JSON body", async (_l, type) => {
    const body = registration();
    const res = await post("/api/user/register", JSON.stringify(body), { "content-type": type });
    await expectErrorShape(res, 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(await api.userRow(body.username)).toBeUndefined();
  });

  it("a real form submission gets 415", async () => {
    const body = registration();
    const res = await post("/api/user/register", new URLSearchParams(body));
    await expectErrorShape(res, 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(await api.userRow(body.username)).toBeUndefined();
  });

  it("415 comes before JSON parsing: a malformed text/plain body is 415, not 400", async () => {
    const res = await post("/api/user/login", "{nope", { "content-type": "text/plain" });
    await expectErrorShape(res, 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("PUT /api/user/{username} with a text/plain body gets 415 and changes nothing", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const before = await allUsers();
    const res = await api.request(`/api/user/${user.username}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${admin.token}`, "content-type": "text/plain" },
      body: JSON.stringify({ first_name: "Plain" }),
    });
    await expectErrorShape(res, 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(await allUsers()).toEqual(before);
  });

  it("PATCH /api/me with a text/plain body gets 415 and changes nothing", async () => {
    const user = await api.signedIn();
    const before = await allUsers();
    const res = await api.request("/api/me", {
      method: "PATCH",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "text/plain" },
      body: JSON.stringify({ first_name: "Plain" }),
    });
    await expectErrorShape(res, 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(await allUsers()).toEqual(before);
  });

  it.each([
    "application/json; charset=utf-8",
    "Application/JSON",
    "application/json;charset=UTF-8",
    'application/json; charset="utf-8"',
    "application/json; Charset=Utf-8",
  ])("accepts %s", async (type) => {
    const res = await post("/api/user/register", json(), { "content-type": type });
    expect(res.status).toBe(201);
  });
});

describe("body size", () => {
  /** A syntactically valid registration body of exactly `bytes` bytes. */
  const bodyOfSize = (bytes: number) => {
    const base = registration({ first_name: "" });
    const padding = bytes - encoder.encode(JSON.stringify(base)).length;
    const text = JSON.stringify({ ...base, first_name: "x".repeat(padding) });
    expect(encoder.encode(text).length).toBe(bytes);
    return { text, username: base.username };
  };

  it("a body over 64 KiB with Content-Length gets 413 PAYLOAD_TOO_LARGE and creates nothing", async () => {
    const { text, username } = bodyOfSize(MAX_BODY + 1);
    const res = await post("/api/user/register", text, {
      "content-type": "application/json",
      "content-length": String(MAX_BODY + 1),
    });
    await expectErrorShape(res, 413, "PAYLOAD_TOO_LARGE");
    expect(await api.userRow(username)).toBeUndefined();
  });

  it("a body streamed without Content-Length gets 413 once past 64 KiB, before it ends", async () => {
    // One byte over: the server can only tell from the last byte sent, so it has read all of it
    // when it answers (closing a connection with bytes unread resets it, and the reset can beat
    // the answer to the client). The stream stays open: the answer must not wait for its end.
    const { text, username } = bodyOfSize(MAX_BODY + 1);
    const bytes = encoder.encode(text);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.slice(i, i + 8192));
      },
    });
    // On a connection of its own, which the server may close after answering an unfinished request.
    const res = await api.request("/api/user/register", {
      method: "POST",
      headers: { "content-type": "application/json", connection: "close" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    await expectErrorShape(res, 413, "PAYLOAD_TOO_LARGE");
    expect(await api.userRow(username)).toBeUndefined();
  });

  it("exactly 64 KiB is parsed: the oversized name is a validation error, not 413", async () => {
    const { text, username } = bodyOfSize(MAX_BODY);
    const res = await post("/api/user/register", text, {
      "content-type": "application/json",
      "content-length": String(MAX_BODY),
    });
    const body = await expectErrorShape(res, 400, "VALIDATION_ERROR");
    expect(body.details).toEqual([expect.objectContaining({ path: "first_name" })]);
    expect(await api.userRow(username)).toBeUndefined();
  });

  it("413 comes before parsing: an oversized malformed body is 413, not INVALID_JSON", async () => {
    const text = `{${"x".repeat(MAX_BODY)}`;
    const res = await post("/api/user/login", text, { "content-type": "application/json" });
    await expectErrorShape(res, 413, "PAYLOAD_TOO_LARGE");
  });

  it("an oversized PUT gets 413 and changes nothing", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const before = await allUsers();
    const res = await api.send(
      "PUT",
      `/api/user/${user.username}`,
      { first_name: "y".repeat(MAX_BODY) },
      admin.token,
    );
    await expectErrorShape(res, 413, "PAYLOAD_TOO_LARGE");
    expect(await allUsers()).toEqual(before);
  });
});

describe("an oversized PATCH /api/me", () => {
  it("gets 413 and changes nothing", async () => {
    const user = await api.signedIn();
    const before = await allUsers();
    const res = await api.send(
      "PATCH",
      "/api/me",
      { first_name: "y".repeat(MAX_BODY) },
      user.token,
    );
    await expectErrorShape(res, 413, "PAYLOAD_TOO_LARGE");
    expect(await allUsers()).toEqual(before);
  });
});

describe("the routes that check the caller's password: POST /api/me/password, DELETE /api/me", () => {
  const routes = [
    ["POST", "/api/me/password"],
    ["DELETE", "/api/me"],
  ] as const;
  /** A body the route would accept, with the caller's right password. */
  const validBody = (method: string, password: string, padding = "") =>
    method === "POST"
      ? { current_password: password, new_password: `another long passphrase${padding}` }
      : { password: `${password}${padding}` };

  it.each(routes)(
    "%s %s: malformed JSON is 400 INVALID_JSON, changing nothing",
    async (method, path) => {
      const user = await api.signedIn();
      const before = await allUsers();
      const res = await api.send(method, path, '{"password":', user.token);
      await expectErrorShape(res, 400, "INVALID_JSON");
      expect(await allUsers()).toEqual(before);
    },
  );

  it.each(routes)("%s %s: a text/plain body is 415, changing nothing", async (method, path) => {
    const user = await api.signedIn();
    const before = await allUsers();
    const res = await api.request(path, {
      method,
      headers: { authorization: `Bearer ${user.token}`, "content-type": "text/plain" },
      body: JSON.stringify(validBody(method, user.password)),
    });
    await expectErrorShape(res, 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(await allUsers()).toEqual(before);
  });

  it.each(routes)("%s %s: a body over 64 KiB is 413, changing nothing", async (method, path) => {
    const user = await api.signedIn();
    const before = await allUsers();
    const body = validBody(method, user.password, " ".repeat(MAX_BODY));
    const res = await api.send(method, path, body, user.token);
    await expectErrorShape(res, 413, "PAYLOAD_TOO_LARGE");
    expect(await allUsers()).toEqual(before);
  });

  it.each(routes)(
    "%s %s: an unknown field is 400 VALIDATION_ERROR naming it",
    async (method, path) => {
      const user = await api.signedIn();
      const before = await allUsers();
      const body = { ...validBody(method, user.password), role: "ADMIN" };
      const res = await api.send(method, path, body, user.token);
      const error = await expectErrorShape(res, 400, "VALIDATION_ERROR");
      expect(error.details).toEqual([{ path: "role", message: "Unknown field." }]);
      expect(await allUsers()).toEqual(before);
    },
  );
});

describe("JSON that is not an object", () => {
  it.each([
    ["an array", "[]"],
    ["an array of objects", '[{"username":"x"}]'],
    ["a number", "1"],
    ["null", "null"],
    ["a string", '"register me"'],
    ["a boolean", "true"],
  ])("is refused with 400 everywhere (%s), creating and changing nothing", async (_l, text) => {
    const admin = await api.signedIn({ role: "ADMIN" });
    const user = await api.createUser();
    const before = await allUsers();
    const requests = [
      api.send("POST", "/api/user/register", text),
      api.send("POST", "/api/user/login", text),
      api.send("POST", "/api/user/forget_password", text),
      api.send("POST", "/api/user/reset_password", text),
      api.send("PUT", `/api/user/${user.username}`, text, admin.token),
      api.send("PATCH", "/api/me", text, admin.token),
    ];
    for (const res of await Promise.all(requests)) {
      const body = await expectErrorShape(res, 400);
      expect(["VALIDATION_ERROR", "INVALID_JSON"]).toContain(body.code);
    }
    expect(await allUsers()).toEqual(before);
  });
});

describe("hostile path segments in /api/user/{username}", () => {
  const hostile: [string, string][] = [
    ["an encoded ../..", "..%2F.."],
    ["an encoded path traversal", "..%2f..%2f..%2fetc%2fpasswd"],
    ["encoded dots", "%2e%2e"],
    ["backslash traversal", "..%5C..%5Cwindows"],
    ["a NUL byte", "%00"],
    ["a NUL inside a name", "abc%00def"],
    ["a 10,000-character name", "a".repeat(10_000)],
    ["a 51-character name", "b".repeat(51)],
    ["accented letters", encodeURIComponent("ünïcødé")],
    ["CJK", encodeURIComponent("用户名")],
    ["emoji", encodeURIComponent("🔑🔑🔑")],
    ["right-to-left override", encodeURIComponent("abc\u202Efed")],
    ["SQL that drops the table", encodeURIComponent("a'; drop table users;--")],
    ["SQL tautology", encodeURIComponent("' OR '1'='1")],
    ["double-quoted SQL", encodeURIComponent('" OR ""="')],
    ["a lone encoded slash", "%2F"],
    ["an encoded slash inside a name", "a%2Fb"],
    ["an encoded percent", "%25"],
    ["a lone percent sign", "%"],
    ["bad percent-encoding", "%zz"],
    ["overlong UTF-8", "%C0%AE%C0%AE"],
    ["invalid UTF-8", "%FF%FE%FD"],
    ["CR LF", "x%0D%0ASet-Cookie:%20a=b"],
    ["markup", encodeURIComponent("<script>alert(1)</script>")],
    ["a template expression", "%24%7B7*7%7D"],
    ["a space", "%20"],
    ["LIKE wildcards", "%25%25%25"],
  ];

  // The callers only read or are refused, and every test checks that nothing changed: they are
  // shared, which spares two accounts (four argon2 runs) per test.
  let admin: Awaited<ReturnType<ContractApi["signedIn"]>>;
  let user: typeof admin;
  beforeAll(async () => {
    admin = await api.signedIn({ role: "ADMIN" });
    user = await api.signedIn();
  });

  it.each(hostile)(
    "%s: never a 5xx, never internals, never a match, nothing changed",
    async (_l, segment) => {
      const before = await allUsers();
      const path = `/api/user/${segment}`;
      for (const caller of [admin, user]) {
        for (const method of ["GET", "PUT", "DELETE"]) {
          const body = method === "PUT" ? { first_name: "Pwned", role: "ADMIN" } : undefined;
          const res = await api.send(method, path, body, caller.token);
          const label = `${method} as ${caller === admin ? "ADMIN" : "USER"}`;
          expect(res.status, label).toBeGreaterThanOrEqual(400);
          expect(res.status, label).toBeLessThan(500);
          expect([400, 403, 404], label).toContain(res.status);
          await expectErrorShape(res, res.status);
        }
      }
      expect(await allUsers()).toEqual(before);
    },
  );

  it("the caller's own name with something appended is not the caller", async () => {
    const before = await allUsers();
    for (const suffix of ["%00", "%20", "%2F..", "'--", "%0A"]) {
      const path = `/api/user/${user.username}${suffix}`;
      expect((await api.send("GET", path, undefined, user.token)).status, suffix).toBe(403);
      const asAdmin = await api.send("GET", path, undefined, admin.token);
      expect(asAdmin.status, suffix).toBe(404);
      const del = await api.send("DELETE", path, undefined, admin.token);
      expect(del.status, suffix).toBe(404);
    }
    expect(await allUsers()).toEqual(before);
  });

  it("LIKE wildcards never match an existing account", async () => {
    const before = await allUsers();
    const patterns = [
      `${user.username.slice(0, 3)}%`,
      user.username.replace(/./g, "_"),
      `%${user.username.slice(-3)}`,
    ];
    for (const pattern of patterns) {
      const path = `/api/user/${encodeURIComponent(pattern)}`;
      expect((await api.send("GET", path, undefined, admin.token)).status, pattern).toBe(404);
      const put = await api.send("PUT", path, { last_name: "Wild" }, admin.token);
      expect(put.status, pattern).toBe(404);
      expect((await api.send("DELETE", path, undefined, admin.token)).status, pattern).toBe(404);
    }
    expect(await allUsers()).toEqual(before);
  });
});

describe("unknown routes", () => {
  it.each([
    ["GET", "/api/nope"],
    ["GET", "/nope"],
    ["GET", "/api/user"],
    ["GET", "/api/user/someone/extra"],
    ["POST", "/api/user/register/extra"],
    ["GET", "/.env"],
  ])("%s %s gets 404 with the error shape", async (method, path) => {
    const res = await api.send(method, path, method === "POST" ? {} : undefined);
    await expectErrorShape(res, 404, "NOT_FOUND");
  });

  it("a method a route does not have gets 404 or 405 with the error shape", async () => {
    const admin = await api.signedIn({ role: "ADMIN" });
    for (const method of ["PATCH", "POST"]) {
      const res = await api.send(method, `/api/user/${admin.username}`, { a: 1 }, admin.token);
      expect([404, 405]).toContain(res.status);
      await expectErrorShape(res, res.status);
    }
  });
});

describe("every error body has msg and an UPPER_SNAKE code", () => {
  type Case = [string, number, string, () => Promise<Response>];
  const cases: Case[] = [
    [
      "validation",
      400,
      "VALIDATION_ERROR",
      () => api.send("POST", "/api/user/register", registration({ email: "no" })),
    ],
    ["malformed JSON", 400, "INVALID_JSON", () => api.send("POST", "/api/user/login", "{")],
    [
      "bad login",
      401,
      "UNAUTHORIZED",
      () => api.send("POST", "/api/user/login", { username: "nobody_x", password: "whatever1" }),
    ],
    ["no token", 401, "UNAUTHORIZED", () => api.send("GET", "/api/user/anyone")],
    ["no token on /api/me", 401, "UNAUTHORIZED", () => api.send("GET", "/api/me")],
    [
      "a bad query parameter",
      400,
      "VALIDATION_ERROR",
      async () => {
        const admin = await api.signedIn({ role: "ADMIN" });
        return api.send("GET", "/api/users?limit=1000", undefined, admin.token);
      },
    ],
    [
      "a USER listing accounts",
      403,
      "FORBIDDEN",
      async () => {
        const user = await api.signedIn();
        return api.send("GET", "/api/users", undefined, user.token);
      },
    ],
    [
      "a USER on someone else",
      403,
      "FORBIDDEN",
      async () => {
        const user = await api.signedIn();
        return api.send("GET", "/api/user/someone_else", undefined, user.token);
      },
    ],
    [
      "a missing account",
      404,
      "NOT_FOUND",
      async () => {
        const admin = await api.signedIn({ role: "ADMIN" });
        return api.send("DELETE", "/api/user/missing_one", undefined, admin.token);
      },
    ],
    [
      "a taken username",
      409,
      "CONFLICT",
      async () => {
        const user = await api.createUser();
        return api.send("POST", "/api/user/register", registration({ username: user.username }));
      },
    ],
    [
      "an oversized body",
      413,
      "PAYLOAD_TOO_LARGE",
      () => api.send("POST", "/api/user/login", { username: "x".repeat(MAX_BODY), password: "x" }),
    ],
    [
      "a wrong Content-Type",
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      () => post("/api/user/login", "{}", { "content-type": "text/plain" }),
    ],
    [
      "a bad reset token",
      400,
      "INVALID_RESET_TOKEN",
      () =>
        api.send("POST", "/api/user/reset_password", {
          token: "A".repeat(43),
          new_password: "a fine new password",
        }),
    ],
  ];

  it.each(cases)("%s: %i %s", async (_label, status, code, request) => {
    const body = await expectErrorShape(await request(), status, code);
    if (code === "VALIDATION_ERROR") expect(body.details).toBeInstanceOf(Array);
  });

  it("a conflict never echoes the stored hash or any password", async () => {
    const user = await api.createUser();
    const row = await api.userRow(user.username);
    const res = await api.send("POST", "/api/user/register", {
      ...registration({ username: user.username }),
      password: user.password,
    });
    const text = await res.text();
    expect(res.status).toBe(409);
    expect(text).not.toContain(row?.passwordHash ?? "<none>");
    expect(text).not.toContain(user.password);
  });
});
