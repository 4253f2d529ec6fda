import type autocannon from "autocannon";
import { nextClientIp } from "./client-ip";
import type { Account } from "./seed";

// autocannon request definitions for each workload. Every POST carries a new X-Forwarded-For
// (see client-ip.ts) so the API's per-IP limiter does its work without ever refusing.

const json = { "content-type": "application/json" };

/** W1/W1b: GET /api/user/{username} with a bearer token (the same bytes on every request). */
export const readUser = (username: string, token: string): autocannon.Request[] => [
  {
    method: "GET",
    path: `/api/user/${username}`,
    headers: { authorization: `Bearer ${token}` },
  },
];

/**
 * W2: logins that succeed, cycling over the accounts, each from a new client address in
 * `ipHeader` (the Worker reads CF-Connecting-IP).
 */
export function loginRequests(
  accounts: Account[],
  ipHeader = "x-forwarded-for",
): autocannon.Request[] {
  let i = 0;
  return [
    {
      method: "POST",
      path: "/api/user/login",
      setupRequest: (request) => {
        const account = accounts[i++ % accounts.length] as Account;
        return {
          ...request,
          headers: { ...json, [ipHeader]: nextClientIp() },
          body: JSON.stringify({ username: account.username, password: account.password }),
        };
      },
    },
  ];
}

/** W3: registrations, each of a username and email never used before (`prefix` is per run). */
export function registerRequests(prefix: string): autocannon.Request[] {
  let n = 0;
  return [
    {
      method: "POST",
      path: "/api/user/register",
      setupRequest: (request) => {
        const username = `${prefix}${n++}`;
        return {
          ...request,
          headers: { ...json, "x-forwarded-for": nextClientIp() },
          body: JSON.stringify({
            username,
            first_name: "Bench",
            last_name: "Register",
            email: `${username}@example.com`,
            password: "a long bench password 42",
          }),
        };
      },
    },
  ];
}

/**
 * W4: refresh-token rotation. Every request presents a token no other request holds and its
 * response's new token replaces it, so each session is rotated one request at a time, as a client
 * would. The tokens live in a shared pool rather than in autocannon's per-connection context
 * because autocannon resets that context after every request of a one-request list. A request
 * leases a token in setupRequest and its response hands the successor back. autocannon also calls
 * setupRequest once per connection before sending anything, which leases a token that is never
 * sent: give the pool two sessions per connection. A request that finds the pool empty sends a
 * token that does not exist and is counted as failed.
 */
export function refreshRequests(tokens: string[]): autocannon.Request[] {
  const pool = [...tokens];
  return [
    {
      method: "POST",
      path: "/api/user/refresh",
      setupRequest: (request) => ({
        ...request,
        headers: { ...json, "x-forwarded-for": nextClientIp() },
        body: JSON.stringify({ refresh_token: pool.shift() ?? "pool-was-empty" }),
      }),
      onResponse: (status, body) => {
        if (status === 200) pool.push(JSON.parse(body).refresh_token);
      },
    },
  ];
}
