/**
 * The client address for rate limits. Behind `trustProxy` proxies, the address the outermost
 * trusted proxy saw is the entry that many places from the right of X-Forwarded-For; anything
 * further left was written by the client and cannot be trusted.
 */
export function clientIp(
  socketAddress: string | undefined,
  forwardedFor: string | undefined,
  trustProxy: number,
): string {
  if (trustProxy > 0 && forwardedFor) {
    const hops = forwardedFor
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const picked = hops[Math.max(0, hops.length - trustProxy)];
    if (picked) return picked;
  }
  return socketAddress ?? "unknown";
}
