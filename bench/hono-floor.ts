// The stack's own floor: bench/baseline.ts's authenticated read, the same checks and query, as a
// bare Hono app served by @hono/node-server (the framework and adapter the API runs on), with no
// middleware, no Drizzle, no access log and no extra headers. What the API costs beyond this is
// ours; what this costs beyond the baseline is the stack's. Run by `npm run bench:w1 -- --floor`.
import { createHmac, timingSafeEqual } from "node:crypto";
import { serve } from "@hono/node-server";
import { type Context, Hono } from "hono";
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

const send = (c: Context, status: 200 | 401 | 403 | 404 | 503, body: unknown) => {
  c.header("cache-control", "no-store");
  return c.json(body, status);
};

async function getUser(c: Context) {
  const username = c.req.param("username") ?? "";
  const claims = verifyToken(c.req.header("authorization"));
  if (!claims) return send(c, 401, { msg: "Unauthorized", code: "UNAUTHORIZED" });
  const [me] = await sql<(Row & { session_id: string | null; revoked_at: Date | null })[]>`
    SELECT u.*, s.id AS session_id, s.revoked_at
    FROM users u LEFT JOIN sessions s ON s.id = ${claims.sid ?? ""} AND s.user_id = u.id
    WHERE u.id = ${claims.sub} LIMIT 1`;
  const revoked = claims.sid !== undefined && (!me?.session_id || me.revoked_at !== null);
  if (!me?.active || me.token_version !== claims.ver || revoked) {
    return send(c, 401, { msg: "Unauthorized", code: "UNAUTHORIZED" });
  }
  if (me.username.toLowerCase() === username.toLowerCase()) return send(c, 200, publicUser(me));
  if (me.role !== "ADMIN") return send(c, 403, { msg: "Forbidden", code: "FORBIDDEN" });
  const [target] = await sql<Row[]>`
    SELECT * FROM users WHERE lower(username) = lower(${username}) LIMIT 1`;
  if (!target) return send(c, 404, { msg: "Not found", code: "NOT_FOUND" });
  return send(c, 200, publicUser(target));
}

const app = new Hono();
app.get("/api/user/:username", getUser);
app.get("/ready", async (c) => {
  await sql`select 1`;
  return send(c, 200, { status: "ready" });
});
app.onError((_, c) => send(c, 503, { msg: "Service unavailable", code: "SERVICE_UNAVAILABLE" }));
const server = serve({
  fetch: app.fetch,
  port: Number(process.env.PORT ?? 8788),
  hostname: "127.0.0.1",
});

const shutdown = () => {
  server.close();
  void sql.end({ timeout: 5 }).finally(() => process.exit(0));
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
