import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { z } from "@hono/zod-openapi";
import { build } from "esbuild";
import type { Hono } from "hono";
import { hc, type InferRequestType, type InferResponseType } from "hono/client";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import type { App } from "../../src/app";
import type { AppType } from "../../src/client";
import { type ErrorBody, forbidden, invalidCredentials } from "../../src/errors";
import type { MfaRequired, RegisterBody, TokenResponse } from "../../src/routes/auth/auth.routes";
import type { UserSchema } from "../../src/routes/users/users.routes";
import { signUpAndReadAccount } from "../fixtures/browser-client/account";
import { PUBLIC_USER_KEYS } from "../support/contract-api";
import { createTestApi, type NodeTestApi } from "../support/node-api";
import { ROOT } from "../support/processes";

// `npm run typecheck` (tsc over tests/) is what enforces the expectTypeOf and @ts-expect-error
// lines below: a route missing from src/client.ts, or a response type that no longer matches its
// schema, fails to compile.

type Client = ReturnType<typeof hc<AppType>>;
type SchemaOf<T> = T extends Hono<infer _E, infer S, infer _B> ? S : never;
type ClientSchema = SchemaOf<AppType>;
type AppSchema = SchemaOf<App>;
// Identical types, unions and all (expectTypeOf's own check mangles the unions of statuses).
type Same<X, Y> =
  (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
type PathsTypedAlike = {
  [P in keyof ClientSchema]: P extends keyof AppSchema
    ? Same<keyof ClientSchema[P], keyof AppSchema[P]> extends true
      ? { [M in keyof ClientSchema[P]]: Same<ClientSchema[P][M], AppSchema[P][M]> }
      : "methods differ"
    : "not in the app";
};

/** Every operation of the OpenAPI document; the browser pages (/, /doc, …) are not API calls. */
const typedPaths = [
  "/health",
  "/ready",
  "/.well-known/jwks.json",
  "/api/user/register",
  "/api/user/login",
  "/api/user/forget_password",
  "/api/user/reset_password",
  "/api/user/refresh",
  "/api/user/logout",
  "/api/user/:username",
  "/api/users",
  "/api/me",
  "/api/me/password",
  "/api/me/verify_email",
  "/api/me/email",
  "/api/user/verify_email",
  "/api/me/sessions",
  "/api/me/sessions/:id",
  "/api/me/mfa/totp",
  "/api/me/mfa/totp/confirm",
  "/api/me/mfa/backup_codes",
  "/api/user/:username/mfa",
  "/api/user/login/mfa",
  "/api/audit",
] as const;

let api: NodeTestApi;
let client: Client;
beforeAll(async () => {
  api = await createTestApi();
  // The client's requests go to the in-process app, through the same checks as every test.
  client = hc<AppType>("http://localhost", {
    fetch: (async (input, init) => api.app.request(input, init)) satisfies typeof fetch,
  });
});
afterAll(() => api.close());

describe("hc<AppType> (hono/client)", () => {
  it("knows every operation: its paths are exactly those of the OpenAPI document", async () => {
    expectTypeOf<keyof ClientSchema>().toEqualTypeOf<(typeof typedPaths)[number]>();
    const res = await api.app.request("/openapi.json");
    const doc = (await res.json()) as { paths: Record<string, unknown> };
    const documented = Object.keys(doc.paths).map((p) => p.replace(/\{(\w+)\}/g, ":$1"));
    expect(documented.sort()).toEqual([...typedPaths].sort());
  });

  it("is the app's own type: each path's methods, inputs and outputs as createApp wires them", () => {
    expectTypeOf<PathsTypedAlike>().toEqualTypeOf<{
      [P in keyof ClientSchema]: { [M in keyof ClientSchema[P]]: true };
    }>();
  });

  it("registers, logs in and reads the account, with typed bodies", async () => {
    const username = `typed_${Math.random().toString(36).slice(2, 8)}`;
    const account = {
      username,
      first_name: "Typed",
      last_name: "Client",
      email: `${username}@example.com`,
      password: "a typed client password",
    };

    const registered = await client.api.user.register.$post({ json: account });
    expect(registered.status).toBe(201);
    if (registered.status !== 201) return;
    expect(await registered.json()).toEqual({ msg: "User registered successfully." });

    const login = await client.api.user.login.$post({
      json: { username, password: account.password },
    });
    expect(login.status).toBe(200);
    if (login.status !== 200) return;
    const answer = await login.json();
    expectTypeOf(answer).toEqualTypeOf<
      z.output<typeof TokenResponse> | z.output<typeof MfaRequired>
    >();
    // A new account has no second factor.
    if ("mfa_required" in answer) throw new Error("a new account asked for a second factor");
    const tokens = answer;
    expect(tokens.token_type).toBe("Bearer");
    expect(tokens.expires_in).toBe(900);
    expect(tokens.access_token.split(".")).toHaveLength(3);

    const read = await client.api.user[":username"].$get(
      { param: { username } },
      { headers: { authorization: `Bearer ${tokens.access_token}` } },
    );
    expect(read.status).toBe(200);
    if (read.status !== 200) return;
    const user = await read.json();
    expectTypeOf(user).toEqualTypeOf<z.output<typeof UserSchema>>();
    expect(Object.keys(user).sort()).toEqual(PUBLIC_USER_KEYS);
    expect(user).toMatchObject({
      username,
      first_name: "Typed",
      last_name: "Client",
      email: account.email,
      role: "USER",
      active: true,
    });
    expect(Number.isInteger(user.id)).toBe(true);
    expect(Date.parse(user.created_at)).not.toBeNaN();
  });

  it("types the error statuses with the error body", async () => {
    const wrong = await client.api.user.login.$post({
      json: { username: "nobody_here", password: "not the password" },
    });
    expect(wrong.status).toBe(401);
    if (wrong.status !== 401) return;
    const body = await wrong.json();
    expectTypeOf(body).toEqualTypeOf<ErrorBody>();
    expect(body).toEqual(invalidCredentials().body);

    const { username, password } = await api.createUser();
    const { access_token } = await loginTokens(username, password);
    const other = await client.api.user[":username"].$get(
      { param: { username: "someone_else" } },
      { headers: { authorization: `Bearer ${access_token}` } },
    );
    expect(other.status).toBe(403);
    if (other.status === 403)
      expect(await other.json()).toEqual(forbidden("Only an ADMIN can do this.").body);
  });
});

async function loginTokens(username: string, password: string) {
  const res = await client.api.user.login.$post({ json: { username, password } });
  if (res.status !== 200) throw new Error(`login gave ${res.status}`);
  const answer = await res.json();
  if ("mfa_required" in answer) throw new Error("a new account asked for a second factor");
  return answer;
}

describe("the types of hc<AppType>", () => {
  it("refuse misused fields, bodies and routes (checked by npm run typecheck)", () => {
    expectTypeOf(misuses).parameter(0).toEqualTypeOf<Client>();
  });
});

// Compiled, never run: misuse that must not type-check. An unused @ts-expect-error is itself an
// error, so each line proves the client's types are precise rather than `any`.
function misuses(c: Client) {
  type Login = typeof c.api.user.login.$post;
  type User200 = InferResponseType<(typeof c.api.user)[":username"]["$get"], 200>;
  type Error401 = InferResponseType<Login, 401>;

  expectTypeOf<InferRequestType<typeof c.api.user.register.$post>["json"]>().toEqualTypeOf<
    z.input<typeof RegisterBody>
  >();
  expectTypeOf<User200["role"]>().toEqualTypeOf<"USER" | "ADMIN">();
  expectTypeOf<Error401["code"]>().toEqualTypeOf<ErrorBody["code"]>();
  expectTypeOf<Awaited<ReturnType<Login>>["status"]>().toEqualTypeOf<
    200 | 400 | 401 | 403 | 405 | 413 | 415 | 429 | 503
  >();

  const user = {} as User200;
  // @ts-expect-error the account body never carries a password hash
  user.password_hash;
  // @ts-expect-error the account body has no `name`, only first_name and last_name
  user.name;
  // @ts-expect-error `active` is a boolean
  user.active.toUpperCase();
  const error = {} as Error401;
  // @ts-expect-error the error body has `msg`, not `message`
  error.message;

  // @ts-expect-error register needs every field: no password
  void c.api.user.register.$post({ json: { username: "a", first_name: "b", last_name: "c" } });
  // @ts-expect-error the role is not chosen at registration
  void c.api.user.login.$post({ json: { username: "a", password: "b", role: "ADMIN" } });
  // @ts-expect-error the path parameter is required
  void c.api.user[":username"].$get({ param: {} });
  // @ts-expect-error there is no such route
  void c.api.user.whoami.$get();
}

describe("a browser project using hc<AppType>", () => {
  const fixture = join(ROOT, "tests/fixtures/browser-client");
  const tsc = (...args: string[]) =>
    promisify(execFile)(
      process.execPath,
      [join(ROOT, "node_modules/typescript/bin/tsc"), ...args],
      {
        cwd: fixture,
      },
    ).then(
      ({ stdout }) => ({ ok: true, stdout }),
      (error: { stdout?: string }) => ({ ok: false, stdout: error.stdout ?? String(error) }),
    );

  it("compiles under lib DOM with neither Node's nor the Workers' typings", async () => {
    const compiled = await tsc("-p", ".");
    expect(compiled.stdout).toBe("");
    expect(compiled.ok).toBe(true);
    const files = (await tsc("-p", ".", "--listFilesOnly")).stdout.split("\n");
    expect(files.some((f) => f.includes("/lib.dom.d.ts"))).toBe(true);
    expect(files.filter((f) => /@types\/node|workers-types/.test(f))).toEqual([]);
  }, 120_000);

  it("bundles no server code: the type import leaves nothing of src/", async () => {
    const result = await build({
      entryPoints: [join(fixture, "account.ts")],
      bundle: true,
      write: false,
      metafile: true,
      format: "esm",
      platform: "browser",
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((f) => f.includes("node_modules/hono/dist/client"))).toBe(true);
    expect(inputs.filter((f) => f.startsWith("src/"))).toEqual([]);
  });

  it("registers, logs in and reads the account through the in-process app", async () => {
    const username = `browser_${Math.random().toString(36).slice(2, 8)}`;
    const account = {
      username,
      first_name: "Browser",
      last_name: "Client",
      email: `${username}@example.com`,
      password: "a browser client password",
    };
    const fetchApp = (async (input, init) => api.app.request(input, init)) satisfies typeof fetch;
    const user = await signUpAndReadAccount("http://localhost", account, fetchApp);
    expect(user).toMatchObject({ username, email: account.email, role: "USER", active: true });
    await expect(signUpAndReadAccount("http://localhost", account, fetchApp)).rejects.toThrow(
      "CONFLICT",
    );
  });
});
