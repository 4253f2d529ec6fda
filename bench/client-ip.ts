/**
 * A new client address per request, sent as X-Forwarded-For to an API started with TRUST_PROXY=1:
 * the per-IP rate limiter still runs its query on every request but never reaches its limit.
 */
let next = 1;

export function nextClientIp(): string {
  const n = next++;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}
