import { createHash, randomBytes } from "node:crypto";
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import type postgres from "postgres";
import { totpCode, totpStep } from "../src/mfa/totp";
import { call, login } from "./api-client";
import type { CountingProxy } from "./count-proxy";
import { type Account, bulkAccount } from "./seed";
import { median } from "./stats";

/** Turns on a second factor for `account` (through the API) and returns it with its secret. */
async function enrolled(api: string, account: Account) {
  const { access } = await login(api, account);
  const started = await call(api, "POST", "/api/me/mfa/totp", {
    token: access,
    body: { password: account.password },
  });
  const secret = String(started.secret);
  const code = totpCode(decodeBase32IgnorePadding(secret), totpStep(new Date()));
  await call(api, "POST", "/api/me/mfa/totp/confirm", { token: access, body: { code } });
  return { ...account, secret };
}

/** One operation: `prepare` does its set-up (not counted) and returns the counted request. */
type Operation = { name: string; prepare(): Promise<() => Promise<unknown>> };

export type RoundTripContext = {
  api: string;
  sql: postgres.Sql;
  proxy: CountingProxy;
  admin: Account;
  self: Account;
  /** Bulk accounts this module may use up (log in, reset, delete), one per run. */
  nextSpare(): Account;
};

/** Waits this long without traffic before and after a counted request (background work ends). */
const QUIET_MS = 60;

function operations(ctx: RoundTripContext): Operation[] {
  const { api } = ctx;
  let registered = 0;
  const runId = Date.now().toString(36);
  let adminToken: string | undefined;
  let selfToken: string | undefined;
  const asAdmin = async () => {
    adminToken ??= (await login(api, ctx.admin)).access;
    return adminToken;
  };
  return [
    {
      name: "register",
      prepare: async () => {
        const username = `rt_${runId}_${registered++}`;
        return () =>
          call(api, "POST", "/api/user/register", {
            expect: 201,
            body: {
              username,
              first_name: "Round",
              last_name: "Trip",
              email: `${username}@example.com`,
              password: "a long bench password 42",
            },
          });
      },
    },
    {
      name: "login (success)",
      prepare: async () => {
        const a = ctx.nextSpare();
        return () => login(api, a);
      },
    },
    {
      name: "login with a factor: password step",
      prepare: async () => {
        const a = await enrolled(api, ctx.nextSpare());
        const body = { username: a.username, password: a.password };
        return () => call(api, "POST", "/api/user/login", { body });
      },
    },
    {
      name: "login with a factor: code step",
      prepare: async () => {
        const a = await enrolled(api, ctx.nextSpare());
        const body = { username: a.username, password: a.password };
        const { mfa_token } = await call(api, "POST", "/api/user/login", { body });
        // The next step's code: the confirmation spent the current one.
        const code = totpCode(decodeBase32IgnorePadding(a.secret), totpStep(new Date()) + 1);
        return () => call(api, "POST", "/api/user/login/mfa", { body: { mfa_token, code } });
      },
    },
    {
      name: "login (wrong password)",
      prepare: async () => {
        const a = ctx.nextSpare();
        const body = { username: a.username, password: "not the password" };
        return () => call(api, "POST", "/api/user/login", { expect: 401, body });
      },
    },
    {
      name: "forget_password",
      prepare: async () => {
        const a = ctx.nextSpare();
        const body = { username: a.username, email: a.email };
        return () => call(api, "POST", "/api/user/forget_password", { body });
      },
    },
    {
      name: "reset_password",
      prepare: async () => {
        // Production never reveals reset tokens: plant one as the app stores it (SHA-256 only).
        const a = ctx.nextSpare();
        const token = randomBytes(32).toString("base64url");
        const tokenHash = createHash("sha256").update(token).digest("hex");
        await ctx.sql`
          INSERT INTO password_reset_tokens (token_hash, user_id, expires_at, created_at)
          SELECT ${tokenHash}, id, now() + interval '30 minutes', now()
          FROM users WHERE username = ${a.username}`;
        const body = { token, new_password: "another long bench password 7" };
        return () => call(api, "POST", "/api/user/reset_password", { body });
      },
    },
    {
      name: "refresh",
      prepare: async () => {
        const { refresh } = await login(api, ctx.nextSpare());
        return () => call(api, "POST", "/api/user/refresh", { body: { refresh_token: refresh } });
      },
    },
    {
      name: "logout",
      prepare: async () => {
        const { refresh } = await login(api, ctx.nextSpare());
        return () => call(api, "POST", "/api/user/logout", { body: { refresh_token: refresh } });
      },
    },
    {
      name: "logout all",
      prepare: async () => {
        const { access } = await login(api, ctx.nextSpare());
        const options = { token: access, body: { all: true } };
        return () => call(api, "POST", "/api/user/logout", options);
      },
    },
    {
      name: "GET self",
      prepare: async () => {
        selfToken ??= (await login(api, ctx.self)).access;
        const token = selfToken;
        return () => call(api, "GET", `/api/user/${ctx.self.username}`, { token });
      },
    },
    {
      name: "GET other (admin)",
      prepare: async () => {
        const token = await asAdmin();
        const other = bulkAccount(1).username;
        return () => call(api, "GET", `/api/user/${other}`, { token });
      },
    },
    {
      name: "PUT (admin)",
      prepare: async () => {
        const token = await asAdmin();
        const path = `/api/user/${ctx.nextSpare().username}`;
        return () => call(api, "PUT", path, { token, body: { first_name: "Updated" } });
      },
    },
    {
      name: "PUT (admin, password)",
      prepare: async () => {
        const token = await asAdmin();
        const path = `/api/user/${ctx.nextSpare().username}`;
        const body = { password: "a new long bench password 9" };
        return () => call(api, "PUT", path, { token, body });
      },
    },
    {
      // A new email: unverified, and its verification link issued in the same statement.
      name: "PUT (admin, email)",
      prepare: async () => {
        const token = await asAdmin();
        const a = ctx.nextSpare();
        const body = { email: `moved_${runId}_${a.username}@example.org` };
        return () => call(api, "PUT", `/api/user/${a.username}`, { token, body });
      },
    },
    {
      name: "DELETE (admin)",
      prepare: async () => {
        const token = await asAdmin();
        const path = `/api/user/${ctx.nextSpare().username}`;
        return () => call(api, "DELETE", path, { token });
      },
    },
    {
      name: "GET /api/users (admin)",
      prepare: async () => {
        const token = await asAdmin();
        return () => call(api, "GET", "/api/users?q=bench", { token });
      },
    },
    {
      name: "GET /api/audit (admin)",
      prepare: async () => {
        const token = await asAdmin();
        return () => call(api, "GET", "/api/audit?action=login.failed", { token });
      },
    },
    {
      name: "GET /api/me",
      prepare: async () => {
        selfToken ??= (await login(api, ctx.self)).access;
        const token = selfToken;
        return () => call(api, "GET", "/api/me", { token });
      },
    },
    {
      name: "PATCH /api/me",
      prepare: async () => {
        const { access } = await login(api, ctx.nextSpare());
        return () =>
          call(api, "PATCH", "/api/me", { token: access, body: { last_name: "Patched" } });
      },
    },
    {
      name: "POST /api/me/password",
      prepare: async () => {
        const a = ctx.nextSpare();
        const { access } = await login(api, a);
        const body = { current_password: a.password, new_password: "another long bench password" };
        return () => call(api, "POST", "/api/me/password", { token: access, body });
      },
    },
    {
      name: "POST /api/user/verify_email",
      prepare: async () => {
        // Plant a link as the app stores it (SHA-256 only), as for reset_password.
        const a = ctx.nextSpare();
        const token = randomBytes(32).toString("base64url");
        const tokenHash = createHash("sha256").update(token).digest("hex");
        await ctx.sql`
          INSERT INTO email_verification_tokens (token_hash, user_id, purpose, email, expires_at, created_at)
          SELECT ${tokenHash}, id, 'verify', email, now() + interval '1 day', now()
          FROM users WHERE username = ${a.username}
          ON CONFLICT (user_id, purpose) DO UPDATE SET token_hash = excluded.token_hash`;
        return () => call(api, "POST", "/api/user/verify_email", { body: { token } });
      },
    },
    {
      name: "POST /api/me/verify_email",
      prepare: async () => {
        const { access } = await login(api, ctx.nextSpare());
        return () => call(api, "POST", "/api/me/verify_email", { token: access });
      },
    },
    {
      name: "POST /api/me/email",
      prepare: async () => {
        const a = ctx.nextSpare();
        const { access } = await login(api, a);
        const body = { email: `new_${runId}_${a.username}@example.org`, password: a.password };
        return () => call(api, "POST", "/api/me/email", { token: access, body });
      },
    },
    {
      name: "DELETE /api/me",
      prepare: async () => {
        const a = ctx.nextSpare();
        const { access } = await login(api, a);
        const options = { token: access, body: { password: a.password } };
        return () => call(api, "DELETE", "/api/me", options);
      },
    },
    {
      name: "GET /api/me/sessions",
      prepare: async () => {
        const { access } = await login(api, ctx.nextSpare());
        return () => call(api, "GET", "/api/me/sessions", { token: access });
      },
    },
    {
      name: "DELETE /api/me/sessions/{id}",
      prepare: async () => {
        const { access } = await login(api, ctx.nextSpare());
        const { sid } = JSON.parse(Buffer.from(access.split(".")[1] ?? "", "base64url").toString());
        return () => call(api, "DELETE", `/api/me/sessions/${sid}`, { token: access });
      },
    },
    { name: "/ready", prepare: async () => () => call(api, "GET", "/ready") },
    { name: "/health", prepare: async () => () => call(api, "GET", "/health") },
    {
      name: "/.well-known/jwks.json",
      prepare: async () => () => call(api, "GET", "/.well-known/jwks.json"),
    },
  ];
}

/**
 * Database round trips per operation: each operation runs alone (nothing else talks to the API),
 * `warmups` times uncounted (connections opened, statements prepared), then `samples` times
 * counted; the median is reported.
 */
export async function countRoundTrips(
  ctx: RoundTripContext,
  warmups: number,
  samples: number,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const op of operations(ctx)) {
    const seen: number[] = [];
    for (let i = 0; i < warmups + samples; i++) {
      const request = await op.prepare();
      await ctx.proxy.quiet(QUIET_MS);
      const before = ctx.proxy.roundTrips();
      await request();
      await ctx.proxy.quiet(QUIET_MS);
      if (i >= warmups) seen.push(ctx.proxy.roundTrips() - before);
    }
    counts.set(op.name, median(seen));
  }
  return counts;
}
