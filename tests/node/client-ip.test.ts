import { describe, expect, it } from "vitest";
import { clientIp, forwardedAddress, rateLimitClient } from "../../src/abuse/client-ip";

describe("rateLimitClient: who per-IP limits count a client as", () => {
  it.each([
    ["203.0.113.7", "203.0.113.7"],
    ["10.0.0.1", "10.0.0.1"],
  ])("an IPv4 address is itself: %s", (address, key) => {
    expect(rateLimitClient(address)).toBe(key);
  });

  it.each([
    "::ffff:198.51.100.7",
    "::FFFF:198.51.100.7",
    "0:0:0:0:0:ffff:198.51.100.7",
    "::ffff:c633:6407",
    "0000:0000:0000:0000:0000:FFFF:C633:6407",
  ])("an IPv4-mapped IPv6 address is its IPv4 address: %s", (address) => {
    expect(rateLimitClient(address)).toBe("198.51.100.7");
  });

  it.each([
    "2001:db8:1:2::1",
    "2001:db8:1:2:ffff:ffff:ffff:ffff",
    "2001:0db8:0001:0002:0000:0000:0000:0001",
    "2001:DB8:1:2::abcd",
    "2001:db8:1:2:3:4:5:6",
    "2001:db8:1:2::",
    "2001:db8:1:2:0:0:192.0.2.1",
    "[2001:db8:1:2::9]",
  ])("an IPv6 address is its /64, however it is written: %s", (address) => {
    expect(rateLimitClient(address)).toBe("2001:db8:1:2::/64");
  });

  it("addresses in different /64s stay apart", () => {
    const keys = ["2001:db8:1:2::1", "2001:db8:1:3::1", "2001:db8:2:2::1", "2001:db9:1:2::1"].map(
      rateLimitClient,
    );
    expect(new Set(keys).size).toBe(4);
  });

  it.each([
    ["::1", "0:0:0:0::/64"],
    ["::", "0:0:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    ["::198.51.100.7", "0:0:0:0::/64"],
    ["64:ff9b::198.51.100.7", "64:ff9b:0:0::/64"],
  ])("other IPv6 forms: %s is %s", (address, key) => {
    expect(rateLimitClient(address)).toBe(key);
  });

  it.each([
    "unknown",
    "",
    "1:2:3",
    "1:2:3:4:5:6:7:8:9",
    "2001:db8::1::2",
    "12345::",
    "g::1",
    ":1:2:3:4:5:6:7",
    "::ffff:999.1.1.1",
    "1.2.3.4::",
    "1:2:3:4:5:6:7::8",
  ])("anything that is not an IP address is kept as it is: %j", (address) => {
    expect(rateLimitClient(address)).toBe(address);
  });
});

describe("clientIp", () => {
  it("keeps the full address: only the rate-limit key is widened to the /64", () => {
    expect(clientIp("2001:db8:1:2::1", undefined, 0)).toBe("2001:db8:1:2::1");
    expect(clientIp("10.0.0.1", "2001:db8::7", 1)).toBe("2001:db8::7");
  });
});

describe("forwardedAddress: the address in an X-Forwarded-For entry", () => {
  it.each([
    ["203.0.113.7", "203.0.113.7"],
    ["203.0.113.7:443", "203.0.113.7"],
    ["203.0.113.7:0", "203.0.113.7"],
    ["203.0.113.7:65535", "203.0.113.7"],
    ["010.000.113.007", "10.0.113.7"],
    ["[2001:db8::1]:443", "2001:db8::1"],
    ["[2001:db8::1]", "2001:db8::1"],
    ["2001:db8::1", "2001:db8::1"],
    // A bare IPv6 address has no port: these are addresses of their own.
    ["2001:db8::1:443", "2001:db8::1:443"],
    ["[::ffff:198.51.100.7]:8080", "::ffff:198.51.100.7"],
    ["::ffff:198.51.100.7", "::ffff:198.51.100.7"],
    ["[fe80::1%eth0]:22", "fe80::1%eth0"],
  ])("%s is %s", (entry, address) => {
    expect(forwardedAddress(entry)).toBe(address);
  });

  it.each([
    "unknown",
    "_hidden",
    "",
    "203.0.113.7:",
    "203.0.113.7:65536",
    "203.0.113.7:http",
    "203.0.113.7:1:2",
    "256.0.0.1",
    "1.2.3",
    "1.2.3.4.5",
    "[203.0.113.7]:80",
    "[2001:db8::1]:",
    "[2001:db8::1]x",
    "[g::1]:80",
    "2001:db8::1::2",
    "example.com:80",
  ])("%j is no address", (entry) => {
    expect(forwardedAddress(entry)).toBeUndefined();
  });
});

describe("clientIp behind trusted proxies", () => {
  it("drops the port a proxy wrote, so every source port of one client is that client", () => {
    const keys = ["198.51.100.7:1024", "198.51.100.7:1025", "198.51.100.7"].map((entry) =>
      rateLimitClient(clientIp("10.0.0.1", `192.0.2.1, ${entry}`, 1)),
    );
    expect(new Set(keys)).toEqual(new Set(["198.51.100.7"]));
    expect(rateLimitClient(clientIp("10.0.0.1", "[2001:db8:1:2::9]:443", 1))).toBe(
      "2001:db8:1:2::/64",
    );
  });

  it("an entry that is no address falls back to the socket address (the proxy)", () => {
    for (const entry of ["unknown", "junk-1", "junk-2", "1.2.3.4:http"]) {
      expect(clientIp("10.0.0.1", `198.51.100.7, ${entry}`, 1)).toBe("10.0.0.1");
    }
    expect(clientIp(undefined, "unknown", 1)).toBe("unknown");
  });

  it("picks the entry TRUST_PROXY hops from the right, whatever the client wrote left of it", () => {
    expect(clientIp("10.0.0.1", "6.6.6.6:1, 198.51.100.7:2, 10.0.0.2:3", 2)).toBe("198.51.100.7");
    expect(clientIp("10.0.0.1", "198.51.100.7:2", 3)).toBe("198.51.100.7");
  });
});
