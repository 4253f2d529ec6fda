import { sign } from "hono/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  claimsOf,
  deleteUser,
  expectUnauthorized,
  getSelf,
  rowOf,
  setActive,
} from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";

let api: ContractApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

type Claims = Record<string, unknown> & { iat: number; exp: number; ver: number; sub: string };

const base64url = (value: string) =>
  btoa(value).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

/** A JWT with the given header and payload and no signature at all. */
const unsigned = (header: object, payload: object) =>
  `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}.`;

/**
 * A signed-in account plus the claims of its real token. Forged tokens reuse those claims (and
 * so the server's own clock, whatever the runtime) and change one thing each.
 */
async function signedInWithClaims() {
  const user = await api.signedIn();
  const claims = claimsOf(user.token) as unknown as Claims;
  return { ...user, claims };
}

/** Each case turns a valid login into an Authorization header value that must be refused. */
const refused: [string, (u: Awaited<ReturnType<typeof signedInWithClaims>>) => Promise<string>][] =
  [
    ["alg none without a signature", async (u) => `Bearer ${unsigned({ alg: "none" }, u.claims)}`],
    [
      "alg none keeping the real signature",
      async (u) => {
        const [, , signature] = u.token.split(".");
        return `Bearer ${unsigned({ alg: "none", typ: "JWT" }, u.claims)}${signature}`;
      },
    ],
    [
      "HS512 signed with the right key",
      async (u) => `Bearer ${await sign(u.claims, api.jwtSecret, "HS512")}`,
    ],
    [
      "HS384 signed with the right key",
      async (u) => `Bearer ${await sign(u.claims, api.jwtSecret, "HS384")}`,
    ],
    [
      "HS256 signed with another key",
      async (u) => `Bearer ${await sign(u.claims, `${api.jwtSecret}-but-not-quite`, "HS256")}`,
    ],
    [
      "an expired token",
      async (u) =>
        `Bearer ${await sign({ ...u.claims, iat: u.claims.iat - 3600, exp: u.claims.iat - 60 }, api.jwtSecret)}`,
    ],
    [
      "a token without exp",
      async (u) => {
        const { exp: _exp, ...claims } = u.claims;
        return `Bearer ${await sign(claims, api.jwtSecret)}`;
      },
    ],
    [
      "a token with a non-numeric exp",
      async (u) =>
        `Bearer ${await sign({ ...u.claims, exp: String(u.claims.exp) } as unknown as Claims, api.jwtSecret)}`,
    ],
    [
      "a token not valid before an hour from now",
      async (u) => `Bearer ${await sign({ ...u.claims, nbf: u.claims.iat + 3600 }, api.jwtSecret)}`,
    ],
    [
      "a token with a wrong ver",
      async (u) => `Bearer ${await sign({ ...u.claims, ver: u.claims.ver + 1 }, api.jwtSecret)}`,
    ],
    [
      "a token without ver",
      async (u) => {
        const { ver: _ver, ...claims } = u.claims;
        return `Bearer ${await sign(claims, api.jwtSecret)}`;
      },
    ],
    [
      "a token whose sub is a number, not a string",
      async (u) =>
        `Bearer ${await sign({ ...u.claims, sub: Number(u.claims.sub) }, api.jwtSecret)}`,
    ],
    [
      "a token for an account that never existed",
      async (u) => `Bearer ${await sign({ ...u.claims, sub: "2147483000" }, api.jwtSecret)}`,
    ],
    [
      "a token whose payload was edited after signing",
      async (u) => {
        const [header, , signature] = u.token.split(".");
        const payload = base64url(JSON.stringify({ ...u.claims, role: "ADMIN" }));
        return `Bearer ${header}.${payload}.${signature}`;
      },
    ],
    ["garbage", async () => "Bearer not-a-jwt"],
    ["three dots of garbage", async () => "Bearer aaa.bbb.ccc"],
    ["an empty bearer", async () => "Bearer "],
    ["the token without the Bearer scheme", async (u) => u.token],
    ["a token with a Bearer prefix inside it", async (u) => `Bearer Bearer ${u.token}`],
    ["the Basic scheme", async (u) => `Basic ${base64url(`${u.username}:${u.password}`)}`],
    ["the token followed by junk", async (u) => `Bearer ${u.token} extra`],
  ];

describe("access tokens", () => {
  it("a valid token from login is accepted", async () => {
    const user = await api.signedIn();
    const res = await getSelf(api, user.username, `Bearer ${user.token}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ username: user.username, role: "USER" });
  });

  it("a token re-signed by the test with the same claims and key is accepted", async () => {
    // Guards the forgeries below: they fail for the one thing each changes, not for the recipe.
    const user = await signedInWithClaims();
    const token = await sign(user.claims, api.jwtSecret, "HS256");
    expect((await getSelf(api, user.username, `Bearer ${token}`)).status).toBe(200);
  });

  it("a request without an Authorization header is refused with 401 and WWW-Authenticate", async () => {
    const user = await api.createUser();
    await expectUnauthorized(await getSelf(api, user.username));
  });

  it.each(refused)(
    "refuses %s with 401, WWW-Authenticate: Bearer and UNAUTHORIZED",
    async (_label, build) => {
      const user = await signedInWithClaims();
      await expectUnauthorized(await getSelf(api, user.username, await build(user)));
      // The account is untouched and its real token still works.
      expect((await getSelf(api, user.username, `Bearer ${user.token}`)).status).toBe(200);
    },
  );
});

describe("access tokens stop working when the account changes underneath them", () => {
  it("refuses the token of a deleted account", async () => {
    const user = await signedInWithClaims();
    await deleteUser(api, Number(user.claims.sub));
    await expectUnauthorized(await getSelf(api, user.username, `Bearer ${user.token}`));
  });

  it("refuses the token of a deactivated account, even with an unchanged ver", async () => {
    const user = await signedInWithClaims();
    const { id, tokenVersion } = await rowOf(api, user.username);
    await setActive(api, id, false);
    expect((await rowOf(api, user.username)).tokenVersion).toBe(tokenVersion);
    await expectUnauthorized(await getSelf(api, user.username, `Bearer ${user.token}`));
  });
});
