import { nextClientIp } from "./client-ip";
import type { Account } from "./seed";

/** One request to the API as a new client address; throws unless the status is `expect`. */
export async function call(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; expect?: number } = {},
): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { "x-forwarded-for": nextClientIp() };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  const expect = options.expect ?? 200;
  if (response.status !== expect) {
    throw new Error(
      `${method} ${path}: ${response.status} (expected ${expect}) ${text.slice(0, 200)}`,
    );
  }
  return text ? JSON.parse(text) : {};
}

export type Tokens = { access: string; refresh: string };

export async function login(base: string, account: Account): Promise<Tokens> {
  const body = await call(base, "POST", "/api/user/login", {
    body: { username: account.username, password: account.password },
  });
  return { access: String(body.access_token), refresh: String(body.refresh_token) };
}
