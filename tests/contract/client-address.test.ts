import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ContractApi, startApi } from "../support/contract-api";
import { expectRateLimited } from "../support/session-helpers";

// The client address reaches the API as a proxy reports it: X-Forwarded-For behind TRUST_PROXY on
// Node, CF-Connecting-IP on Workers (each runtime ignores the other header).
let api: ContractApi;
beforeAll(async () => {
  api = await startApi({ env: { TRUST_PROXY: "1", RATE_LIMIT_LOGIN: "3/86400" } });
});
afterAll(() => api.close());

const loginFrom = (address: string, user: { username: string; password: string }) =>
  api.request("/api/user/login", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-forwarded-for": address,
      "cf-connecting-ip": address,
    },
    body: JSON.stringify({ username: user.username, password: user.password }),
  });

/** Three logins allowed per client, the fourth refused. */
async function useUpBudget(addresses: string[], user: { username: string; password: string }) {
  for (const address of addresses)
    expect((await loginFrom(address, user)).status, address).toBe(200);
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
