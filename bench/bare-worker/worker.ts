// The bare Worker of `npm run bench`: the floor the API's Worker is measured against, in the same
// workerd and through the same Hyperdrive binding. Per request one postgres.js client (as the
// API's), the HS256 check with hono/jwt, one query, the same JSON; login is one query, argon2id
// in WebAssembly (the API's own wasm and parameters) and an HS256 token. No framework, no rate
// limit, no session, no audit log, no access log.
import { sign, verify } from "hono/jwt";
import postgres from "postgres";
import { wasmArgon2 } from "../../src/worker/argon2";

type Env = { HYPERDRIVE: { connectionString: string }; JWT_SECRET_KEY: string };
type Ctx = { waitUntil(promise: Promise<unknown>): void };

const client = (env: Env) =>
  postgres(env.HYPERDRIVE.connectionString, { max: 1, fetch_types: false, onnotice: () => {} });

const json = (body: unknown, status = 200) => Response.json(body, { status });

async function readUser(request: Request, env: Env, ctx: Ctx, username: string) {
  const token = /^Bearer (.+)$/.exec(request.headers.get("authorization") ?? "")?.[1];
  if (!token) return json({ msg: "Unauthorized" }, 401);
  let claims: { sub?: unknown; ver?: unknown; sid?: unknown };
  try {
    claims = (await verify(token, env.JWT_SECRET_KEY, "HS256")) as typeof claims;
  } catch {
    return json({ msg: "Unauthorized" }, 401);
  }
  const sql = client(env);
  try {
    const [row] = await sql`
      select u.id, u.username, u.first_name, u.last_name, u.email, u.role, u.active,
        u.token_version, u.created_at, u.updated_at, s.revoked_at, s.id as session_id
      from users u left join sessions s on s.id = ${String(claims.sid ?? "")} and s.user_id = u.id
      where u.id = ${Number(claims.sub)}`;
    if (!row?.active || row.token_version !== claims.ver || row.username !== username)
      return json({ msg: "Unauthorized" }, 401);
    if (claims.sid && (row.session_id === null || row.revoked_at !== null))
      return json({ msg: "Unauthorized" }, 401);
    return json({
      id: row.id,
      username: row.username,
      first_name: row.first_name,
      last_name: row.last_name,
      email: row.email,
      role: row.role,
      active: row.active,
      created_at: new Date(row.created_at).toISOString(),
      updated_at: new Date(row.updated_at).toISOString(),
    });
  } finally {
    ctx.waitUntil(sql.end({ timeout: 2 }));
  }
}

async function login(request: Request, env: Env, ctx: Ctx) {
  const body = (await request.json()) as { username: string; password: string };
  const sql = client(env);
  try {
    const [row] = await sql`
      select id, role, token_version, password_hash from users
      where lower(username) = lower(${body.username})`;
    if (!row || !(await wasmArgon2.verify(row.password_hash, body.password.normalize("NFKC"))))
      return json({ msg: "Invalid credentials." }, 401);
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: String(row.id), role: row.role, ver: row.token_version, iat: now };
    const access = await sign({ ...claims, exp: now + 900 }, env.JWT_SECRET_KEY, "HS256");
    return json({ access_token: access, token_type: "bearer" });
  } finally {
    ctx.waitUntil(sql.end({ timeout: 2 }));
  }
}

export default {
  async fetch(request: Request, env: Env, ctx: Ctx): Promise<Response> {
    const { pathname } = new URL(request.url);
    const user = /^\/api\/user\/([^/]+)$/.exec(pathname);
    if (request.method === "GET" && user?.[1]) return readUser(request, env, ctx, user[1]);
    if (request.method === "POST" && pathname === "/api/user/login")
      return login(request, env, ctx);
    return json({ msg: "Not found" }, 404);
  },
};
