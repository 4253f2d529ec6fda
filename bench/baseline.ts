// The floor the API is measured against: the authenticated read of GET /api/user/{username}
// done by hand on node:http, with none of the framework. Same checks as the API: HS256 signature,
// expiry, the account (active, token version) and its session in one indexed query, the same JSON
// body. Also the floor of a login, POST /api/user/login: the account in one query, argon2id
// verify (@node-rs/argon2, the API's library), an HS256 token; no session, no rate limit, no
// lockout, no audit (what the API adds). Run by the bench as its own process (`node
// bench/baseline.ts`, types stripped by Node). With BASELINE_SERVER=hono the same handlers are
// served by a bare Hono app on @hono/node-server instead of node:http: the stack's own floor (no
// middleware, no Drizzle, no access log, two response headers), for `npm run bench`'s W1.
// Imports nothing from src/ on purpose: Node runs this file as is, without a TypeScript loader.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { verify } from "@node-rs/argon2";
import type { Context } from "hono";
import postgres from "postgres";

const secret = process.env.JWT_SECRET_KEY ?? "";
const databaseUrl = process.env.DATABASE_URL;
if (secret.length < 32 || !databaseUrl) {
  console.error("baseline: JWT_SECRET_KEY (32+ characters) and DATABASE_URL are required");
  process.exit(1);
}
// The API's pool size (openPostgres's default).
const sql = postgres(databaseUrl, { max: 10, onnotice: () => {} });

type Claims = { sub: number; ver: number; sid?: string };
type Row = {
  id: number;
  username: string;
  first_name: string;
  last_name: string;
  email: string;
  role: "USER" | "ADMIN";
  active: boolean;
  token_version: number;
  created_at: Date;
  updated_at: Date;
};

const HS256_HEADER = /"alg"\s*:\s*"HS256"/;

/** The claims of a valid, unexpired HS256 token signed with `secret`, else undefined. */
function verifyToken(header: string | undefined): Claims | undefined {
  const match = /^Bearer +([\w-]+)\.([\w-]+)\.([\w-]+)$/i.exec(header ?? "");
  if (!match) return undefined;
  const [, head, body, signature] = match as unknown as [string, string, string, string];
  if (!HS256_HEADER.test(Buffer.from(head, "base64url").toString())) return undefined;
  const expected = createHmac("sha256", secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const claims = JSON.parse(Buffer.from(body, "base64url").toString());
  if (typeof claims.exp !== "number" || claims.exp <= Date.now() / 1000) return undefined;
  return { sub: Number(claims.sub), ver: claims.ver, sid: claims.sid };
}

const publicUser = (u: Row) => ({
  id: u.id,
  username: u.username,
  first_name: u.first_name,
  last_name: u.last_name,
  email: u.email,
  role: u.role,
  active: u.active,
  created_at: u.created_at.toISOString(),
  updated_at: u.updated_at.toISOString(),
});

/** A handler's answer: the status and the JSON body. */
type Answer = [status: 200 | 400 | 401 | 403 | 404, body: unknown];

async function readUser(authorization: string | undefined, username: string): Promise<Answer> {
  const claims = verifyToken(authorization);
  if (!claims) return [401, { msg: "Unauthorized", code: "UNAUTHORIZED" }];
  const [me] = await sql<(Row & { session_id: string | null; revoked_at: Date | null })[]>`
    SELECT u.*, s.id AS session_id, s.revoked_at
    FROM users u LEFT JOIN sessions s ON s.id = ${claims.sid ?? ""} AND s.user_id = u.id
    WHERE u.id = ${claims.sub} LIMIT 1`;
  const revoked = claims.sid !== undefined && (!me?.session_id || me.revoked_at !== null);
  if (!me?.active || me.token_version !== claims.ver || revoked) {
    return [401, { msg: "Unauthorized", code: "UNAUTHORIZED" }];
  }
  if (me.username.toLowerCase() === username.toLowerCase()) return [200, publicUser(me)];
  if (me.role !== "ADMIN") return [403, { msg: "Forbidden", code: "FORBIDDEN" }];
  // The admin path (W1b): one more indexed lookup, by lower(username) as the API does.
  const [target] = await sql<Row[]>`
    SELECT * FROM users WHERE lower(username) = lower(${username}) LIMIT 1`;
  if (!target) return [404, { msg: "Not found", code: "NOT_FOUND" }];
  return [200, publicUser(target)];
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const TOKEN_HEAD = b64url({ alg: "HS256", typ: "JWT" });

/** An HS256 access token for the account, valid 15 minutes. */
function signToken(me: Row) {
  const now = Math.floor(Date.now() / 1000);
  const body = b64url({ sub: String(me.id), ver: me.token_version, iat: now, exp: now + 900 });
  const signature = createHmac("sha256", secret)
    .update(`${TOKEN_HEAD}.${body}`)
    .digest("base64url");
  return `${TOKEN_HEAD}.${body}.${signature}`;
}

async function login(text: string): Promise<Answer> {
  const { username, password } = JSON.parse(text) as { username?: unknown; password?: unknown };
  if (typeof username !== "string" || typeof password !== "string") {
    return [400, { msg: "Invalid input", code: "VALIDATION_ERROR" }];
  }
  const [me] = await sql<(Row & { password_hash: string })[]>`
    SELECT * FROM users WHERE lower(username) = lower(${username}) LIMIT 1`;
  if (!me?.active || !(await verify(me.password_hash, password))) {
    return [401, { msg: "Invalid credentials", code: "INVALID_CREDENTIALS" }];
  }
  return [200, { access_token: signToken(me), token_type: "Bearer", expires_in: 900 }];
}

const ready = async (): Promise<Answer> => {
  await sql`select 1`;
  return [200, { status: "ready" }];
};

const unavailable = { msg: "Service unavailable", code: "SERVICE_UNAVAILABLE" };
const port = Number(process.env.PORT ?? 8788);

/** The handlers on node:http, routed by hand. */
function serveBare() {
  const send = (res: ServerResponse, [status, body]: [number, unknown]) => {
    if (res.headersSent) return;
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    const path = req.url ?? "/";
    const user = /^\/api\/user\/([A-Za-z0-9_.-]{3,50})$/.exec(path);
    let work: Promise<Answer> | undefined;
    if (req.method === "GET" && user?.[1]) work = readUser(req.headers.authorization, user[1]);
    else if (req.method === "POST" && path === "/api/user/login") work = bodyText(req).then(login);
    else if (req.method === "GET" && path === "/ready") work = ready();
    else send(res, [404, { msg: "Not found", code: "NOT_FOUND" }]);
    work?.then(
      (answer) => send(res, answer),
      () => send(res, [503, unavailable]),
    );
  });
  // Node's default keep-alive timeout (5 s) is what @hono/node-server uses too.
  return server.listen(port, "127.0.0.1");
}

/** The request's body as text (the bench sends small JSON bodies). */
function bodyText(req: IncomingMessage) {
  return new Promise<string>((resolve, reject) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      text += chunk;
    });
    req.on("end", () => resolve(text));
    req.on("error", reject);
  });
}

/** The same handlers as a bare Hono app on @hono/node-server (loaded only for this server). */
async function serveHono() {
  const { Hono } = await import("hono");
  const { serve } = await import("@hono/node-server");
  const app = new Hono();
  const answer = (c: Context, [status, body]: Answer | [503, unknown]) => {
    c.header("cache-control", "no-store");
    return c.json(body, status);
  };
  app.get("/api/user/:username", async (c) =>
    answer(c, await readUser(c.req.header("authorization"), c.req.param("username"))),
  );
  app.post("/api/user/login", async (c) => answer(c, await login(await c.req.text())));
  app.get("/ready", async (c) => answer(c, await ready()));
  app.onError((_, c) => answer(c, [503, unavailable]));
  return serve({ fetch: app.fetch, port, hostname: "127.0.0.1" });
}

const server = process.env.BASELINE_SERVER === "hono" ? await serveHono() : serveBare();

const shutdown = () => {
  server.close();
  void sql.end({ timeout: 5 }).finally(() => process.exit(0));
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
