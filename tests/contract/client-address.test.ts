import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ContractApi, startApi } from "../support/contract-api";
import { expectRateLimited, sessionsOfUser } from "../support/session-helpers";

// The client address reaches the API as a proxy reports it: X-Forwarded-For behind TRUST_PROXY on
// Node, CF-Connecting-IP on Workers (each runtime ignores the other header).
let api: ContractApi;
beforeAll(async () => {
  api = await startApi({ env: { TRUST_PROXY: "1", RATE_LIMIT_LOGIN: "3/86400" } });
});
afterAll(() => api.close());

const loginFrom = (
  address: string,
  user: { username: string; password: string },
  /** What the proxy wrote in X-Forwarded-For, when it is more than the address. */
  forwardedFor = address,
) =>
  api.request("/api/user/login", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-forwarded-for": forwardedFor,
      "cf-connecting-ip": address,
    },
    body: JSON.stringify({ username: user.username, password: user.password }),
  });

/** Three logins allowed per client, the fourth refused. */
async function useUpBudget(
  addresses: string[],
  user: { username: string; password: string },
  forwardedFor = addresses,
) {
  for (const [i, address] of addresses.entries()) {
    const res = await loginFrom(address, user, forwardedFor[i]);
    expect(res.status, forwardedFor[i]).toBe(200);
  }
}

describe("per-IP limits count an IPv6 client by its /64", () => {
  it("addresses in one /64, however written, share one budget; another /64 has its own", async () => {
    const user = await api.createUser();
    await useUpBudget(
      ["2001:db8:a:b::1", "2001:0db8:000a:000b:0:0:0:2", "2001:DB8:A:B:ffff:ffff:ffff:fffe"],
      user,
    );
    await expectRateLimited(await loginFrom("2001:db8:a:b:1234::5", user));
    expect((await loginFrom("2001:db8:a:c::1", user)).status).toBe(200);
  });

  it("an IPv4 client and its IPv4-mapped IPv6 form are one client; IPv4 neighbours are not", async () => {
    const user = await api.createUser();
    await useUpBudget(["198.51.100.20", "::ffff:198.51.100.20", "198.51.100.20"], user);
    await expectRateLimited(await loginFrom("::ffff:c633:6414", user));
    expect((await loginFrom("198.51.100.21", user)).status).toBe(200);
  });
});

// Some load balancers write `ip:port`; Cloudflare's CF-Connecting-IP never carries a port.
describe("an X-Forwarded-For entry is read as an address: one address, one budget", () => {
  it("26 logins from one address through varying source ports: the fourth and every later one is 429", async () => {
    const user = await api.createUser();
    const statuses: number[] = [];
    for (let port = 40_000; port < 40_026; port++) {
      const res = await loginFrom("198.51.100.30", user, `192.0.2.99, 198.51.100.30:${port}`);
      if (res.status === 429) await expectRateLimited(res);
      statuses.push(res.status);
    }
    expect(statuses).toEqual([...Array(3).fill(200), ...Array(23).fill(429)]);
    const row = await api.userRow(user.username);
    expect(await sessionsOfUser(api, row?.id ?? -1)).toHaveLength(3);
    expect((await loginFrom("198.51.100.31", user, "198.51.100.31:40000")).status).toBe(200);
  });

  it("[IPv6]:port, [IPv6] and a bare IPv6 address in one /64 share one budget", async () => {
    const user = await api.createUser();
    await useUpBudget(["2001:db8:c:d::1", "2001:db8:c:d::2", "2001:db8:c:d::3"], user, [
      "[2001:db8:c:d::1]:443",
      "[2001:db8:c:d::2]",
      "2001:db8:c:d::3",
    ]);
    await expectRateLimited(await loginFrom("2001:db8:c:d::4", user, "[2001:db8:c:d::4]:8443"));
  });

  it("an IPv4-mapped [IPv6]:port is its IPv4 client", async () => {
    const user = await api.createUser();
    await useUpBudget(["198.51.100.40", "198.51.100.40", "198.51.100.40"], user, [
      "[::ffff:198.51.100.40]:1",
      "198.51.100.40:2",
      "198.51.100.40",
    ]);
    await expectRateLimited(await loginFrom("198.51.100.40", user, "[::ffff:c633:6428]:3"));
  });

  it("entries that are no address are no client of their own: they share the proxy's budget", async () => {
    const user = await api.createUser();
    const cf = "198.51.100.50";
    await useUpBudget([cf, cf, cf], user, ["unknown", "_hidden", "198.51.100.50:http"]);
    await expectRateLimited(await loginFrom(cf, user, "999.1.2.3:80"));
  });
});
