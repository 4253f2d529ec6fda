// The floor the API is measured against: the authenticated read of GET /api/user/{username}
// done by hand on node:http, with none of the framework. Same checks as the API: HS256 signature,
// expiry, the account (active, token version) and its session in one indexed query, the same JSON
// body. Run by the bench as its own process (`node bench/baseline.ts`, types stripped by Node).
// Imports nothing from src/ on purpose: Node runs this file as is, without a TypeScript loader.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
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

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
};

async function getUser(authorization: string | undefined, username: string, res: ServerResponse) {
  const claims = verifyToken(authorization);
  if (!claims) return send(res, 401, { msg: "Unauthorized", code: "UNAUTHORIZED" });
  const [me] = await sql<(Row & { session_id: string | null; revoked_at: Date | null })[]>`
    SELECT u.*, s.id AS session_id, s.revoked_at
    FROM users u LEFT JOIN sessions s ON s.id = ${claims.sid ?? ""} AND s.user_id = u.id
    WHERE u.id = ${claims.sub} LIMIT 1`;
  const revoked = claims.sid !== undefined && (!me?.session_id || me.revoked_at !== null);
  if (!me?.active || me.token_version !== claims.ver || revoked) {
    return send(res, 401, { msg: "Unauthorized", code: "UNAUTHORIZED" });
  }
  if (me.username.toLowerCase() === username.toLowerCase()) return send(res, 200, publicUser(me));
  if (me.role !== "ADMIN") return send(res, 403, { msg: "Forbidden", code: "FORBIDDEN" });
  // The admin path (W1b): one more indexed lookup, by lower(username) as the API does.
  const [target] = await sql<Row[]>`
    SELECT * FROM users WHERE lower(username) = lower(${username}) LIMIT 1`;
  if (!target) return send(res, 404, { msg: "Not found", code: "NOT_FOUND" });
  send(res, 200, publicUser(target));
}

const server = createServer((req, res) => {
  const path = req.url ?? "/";
  const user = /^\/api\/user\/([A-Za-z0-9_.-]{3,50})$/.exec(path);
  let work: Promise<unknown> | undefined;
  if (req.method === "GET" && user?.[1]) work = getUser(req.headers.authorization, user[1], res);
  else if (req.method === "GET" && path === "/ready")
    work = sql`select 1`.then(() => send(res, 200, { status: "ready" }));
  else send(res, 404, { msg: "Not found", code: "NOT_FOUND" });
  work?.catch(() => send(res, 503, { msg: "Service unavailable", code: "SERVICE_UNAVAILABLE" }));
});
// Node's default keep-alive timeout (5 s) is what @hono/node-server uses too.
server.listen(Number(process.env.PORT ?? 8788), "127.0.0.1");

const shutdown = () => {
  server.close();
  void sql.end({ timeout: 5 }).finally(() => process.exit(0));
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
