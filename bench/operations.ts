import { createHmac } from "node:crypto";
import { nextClientIp } from "./client-ip";
import type { LoadResult } from "./load";
import type { Account, FactorAccount } from "./seed";
import { percentile } from "./stats";

// Workloads whose operation is more than one request (W2f: the password step, then the code
// step), measured as whole operations: autocannon times requests, not sequences of them. A fixed
// number of operations rather than a duration, because each W2f operation spends an account.

/**
 * The TOTP code of `secret` at `at` (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits), computed here
 * with node:crypto rather than with the app's src/mfa/totp.ts. A code computed just before a step
 * boundary and checked just after is still accepted (the API takes the steps either side).
 */
export function totpNow(secret: Uint8Array, at = Date.now()): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac("sha1", secret).update(counter).digest();
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

/** One POST as a new client address (X-Forwarded-For, see client-ip.ts): its status and body. */
async function post(base: string, path: string, body: unknown) {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": nextClientIp() },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { ok: response.ok, body: text ? JSON.parse(text) : {} };
}

/** W2 as one operation of this driver: a login without a factor. True when it succeeded. */
export const plainLogin = (base: string, account: Account) => async () =>
  (await post(base, "/api/user/login", { username: account.username, password: account.password }))
    .ok;

/** W2f: the password step, then the code step with the current code. True when both succeeded. */
export const factorLogin = (base: string, account: FactorAccount) => async () => {
  const first = await post(base, "/api/user/login", {
    username: account.username,
    password: account.password,
  });
  if (!first.ok || first.body.mfa_required !== true) return false;
  const code = totpNow(account.secret);
  return (await post(base, "/api/user/login/mfa", { mfa_token: first.body.mfa_token, code })).ok;
};

/**
 * Runs `operations.length` operations, `connections` at a time (each worker takes the next one
 * when its last ends); the rate counts successful operations, latencies are over all of them.
 */
export async function runOperations(
  connections: number,
  operations: (() => Promise<boolean>)[],
): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  let ok = 0;
  let failed = 0;
  const worker = async () => {
    while (next < operations.length) {
      const operation = operations[next++] as () => Promise<boolean>;
      const start = performance.now();
      const succeeded = await operation().catch(() => false);
      latencies.push(performance.now() - start);
      if (succeeded) ok++;
      else failed++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const seconds = (performance.now() - start) / 1000;
  return {
    rps: ok / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: Math.max(...latencies),
    ok,
    failed,
  };
}
