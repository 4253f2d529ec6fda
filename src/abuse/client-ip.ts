/**
 * The client address for rate limits. Behind `trustProxy` proxies, the address the outermost
 * trusted proxy saw is the entry that many places from the right of X-Forwarded-For; anything
 * further left was written by the client and cannot be trusted. The entry is read as an address,
 * its port dropped (some load balancers write `ip:port`, which would give every source port a
 * budget of its own); an entry that is no address is no client of its own either, so the socket
 * address (the proxy) stands in for it.
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
    const address = picked === undefined ? undefined : forwardedAddress(picked);
    if (address) return address;
  }
  return socketAddress ?? "unknown";
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const isPort = (text: string) => /^\d{1,5}$/.test(text) && Number(text) <= 65_535;

/** An IPv4 address in dotted decimal (`010` is ten), else undefined. */
function ipv4(text: string) {
  const bytes = IPV4.exec(text)?.slice(1).map(Number);
  return bytes?.every((b) => b <= 255) ? bytes.join(".") : undefined;
}

/**
 * The address in an X-Forwarded-For entry: `ip`, `ip:port`, `[ipv6]`, `[ipv6]:port` or a bare
 * IPv6 address (a bare one never has a port: `2001:db8::1:443` is itself an address).
 */
export function forwardedAddress(entry: string): string | undefined {
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(entry);
  if (bracketed) {
    const [, inner = "", port] = bracketed;
    if (port !== undefined && !isPort(port)) return undefined;
    return ipv6Groups(inner) ? inner : undefined;
  }
  const [host = "", port, ...rest] = entry.split(":");
  if (rest.length === 0 && (port === undefined || isPort(port))) return ipv4(host);
  return ipv6Groups(entry) ? entry : undefined;
}

/**
 * Who per-IP limits count a client as: an IPv4 address as it is (also when written as IPv4-mapped
 * IPv6, as a dual-stack socket reports it), an IPv6 address by its /64. One subscriber is usually
 * given a whole /64, so counting single IPv6 addresses would hand it 2^64 budgets. Anything that
 * is not an IP address is kept as it is.
 */
export function rateLimitClient(address: string): string {
  const groups = ipv6Groups(address);
  if (!groups) return address;
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0, h = 0] = groups;
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && f === 0xffff) {
    return [g >> 8, g & 0xff, h >> 8, h & 0xff].join(".");
  }
  return `${[a, b, c, d].map((n) => n.toString(16)).join(":")}::/64`;
}

const HEXTET = /^[0-9a-f]{1,4}$/i;
const IPV4_TAIL = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The eight 16-bit groups of an IPv6 address in any of its written forms, else undefined. */
function ipv6Groups(address: string): number[] | undefined {
  // A zone (fe80::1%eth0) names the interface, not the host.
  let text = address.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  if (!text.includes(":")) return undefined;
  // The last 32 bits may be written as an IPv4 address (::ffff:192.0.2.1).
  const v4 = IPV4_TAIL.exec(text);
  if (v4) {
    const [b0, b1, b2, b3] = v4.slice(2).map(Number) as [number, number, number, number];
    if (Math.max(b0, b1, b2, b3) > 255) return undefined;
    text = `${v4[1]}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (half = "") => (half === "" ? [] : half.split(":"));
  const [head, tail] = [groupsOf(halves[0]), groupsOf(halves[1])];
  if (![...head, ...tail].every((group) => HEXTET.test(group))) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  return [...head, ...Array<string>(missing).fill("0"), ...tail].map((g) => Number.parseInt(g, 16));
}
