import { Buffer } from "node:buffer";
import { Hono } from "hono";
import { jwk } from "hono/jwk";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { claimsOf, expectUnauthorized, getSelf } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";
import { createTestDatabase } from "../support/database";
import {
  decodePart,
  newSigningKey,
  type PrivateJwk,
  signEdDsa,
  signHs256,
  signingKeysEnv,
  verifiesWith,
} from "../support/jwk-helpers";

// The contract's "Signing keys": with JWT_SIGNING_KEYS, EdDSA access tokens that anyone can verify
// with the published JWKS, and nothing else passes.

const first = newSigningKey("first-2026");
const second = newSigningKey("second-2026");
const JWKS = "/.well-known/jwks.json";

let api: ContractApi;
beforeAll(async () => {
  api = await startApi({ env: signingKeysEnv(first, second) });
});
afterAll(() => api.close());

/** What the JWKS must list for a key: its public half and nothing more. */
const published = ({ kty, crv, kid, x }: PrivateJwk) => ({
  kty,
  crv,
  kid,
  x,
  alg: "EdDSA",
  use: "sig",
});

async function readJwks(from: Pick<ContractApi, "request"> = api) {
  const res = await from.request(JWKS);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  expect(res.headers.get("cache-control")).toBe("public, max-age=300");
  const text = await res.text();
  return { text, keys: (JSON.parse(text) as { keys: Record<string, unknown>[] }).keys };
}

/** A signed-in account, its real token and that token's claims, which forgeries reuse. */
async function signedIn(from: ContractApi = api) {
  const user = await from.signedIn();
  return { ...user, claims: claimsOf(user.token) as unknown as Record<string, unknown> };
}

const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
const unsigned = (header: object, payload: object) => `${part(header)}.${part(payload)}.`;

describe("GET /.well-known/jwks.json", () => {
  it("lists the public half of every key, in order, cacheable for five minutes", async () => {
    expect((await readJwks()).keys).toEqual([published(first), published(second)]);
  });

  it("never holds a private part", async () => {
    const { text, keys } = await readJwks();
    for (const key of [first, second]) expect(text).not.toContain(key.d);
    for (const key of keys) {
      expect(Object.keys(key).sort()).toEqual(["alg", "crv", "kid", "kty", "use", "x"]);
    }
  });

  it("is empty when the server signs with HS256 (JWT_SIGNING_KEYS unset)", async () => {
    const hs256 = await startApi();
    try {
      expect((await readJwks(hs256)).keys).toEqual([]);
      const { token } = await hs256.signedIn();
      expect(decodePart(token, 0)).toEqual({ alg: "HS256", typ: "JWT" });
    } finally {
      await hs256.close();
    }
  });

  it("is in the OpenAPI document, as a public operation", async () => {
    const doc = (await (await api.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { security?: unknown[]; responses: object }>>;
    };
    const operation = doc.paths[JWKS]?.get;
    expect(operation?.security).toEqual([]);
    expect(Object.keys(operation?.responses ?? {})).toContain("200");
  });
});

describe("access tokens with JWT_SIGNING_KEYS", () => {
  it("are EdDSA JWTs naming the first key, and verify with its published key (node:crypto)", async () => {
    const { token } = await signedIn();
    expect(decodePart(token, 0)).toEqual({ alg: "EdDSA", typ: "JWT", kid: first.kid });
    const { keys } = await readJwks();
    const key = keys.find((k) => k.kid === first.kid) as { x: string };
    expect(verifiesWith(token, key)).toBe(true);
    // The verifier can say no: the other published key does not verify it.
    expect(verifiesWith(token, keys.find((k) => k.kid === second.kid) as { x: string })).toBe(
      false,
    );
  });

  it("a separate Hono app verifies them with hono/jwk against the served JWKS", async () => {
    const jwksUri = new URL(JWKS, await api.baseUrl()).toString();
    const resource = new Hono()
      .use(jwk({ jwks_uri: jwksUri, alg: ["EdDSA"] }))
      .get("/whoami", (c) => c.json(c.get("jwtPayload")));
    const user = await signedIn();
    const stranger = newSigningKey(first.kid);
    const forged = signEdDsa({ alg: "EdDSA", typ: "JWT", kid: first.kid }, user.claims, stranger);

    // hono/jwk checks exp against its own clock: set to when the API issued the token.
    vi.useFakeTimers({ toFake: ["Date"], now: (Number(user.claims.iat) + 1) * 1000 });
    try {
      const ok = await resource.request("/whoami", {
        headers: { authorization: `Bearer ${user.token}` },
      });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual(user.claims);
      // The resource server can say no: the same claims under another key with that kid.
      const refused = await resource.request("/whoami", {
        headers: { authorization: `Bearer ${forged}` },
      });
      expect(refused.status).toBe(401);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a token the second key signed is accepted: every listed key verifies", async () => {
    // Also guards the forgeries below: signed by the test, they fail for what each changes.
    const user = await signedIn();
    const token = signEdDsa({ alg: "EdDSA", typ: "JWT", kid: second.kid }, user.claims, second);
    expect((await getSelf(api, user.username, `Bearer ${token}`)).status).toBe(200);
  });

  type User = Awaited<ReturnType<typeof signedIn>>;
  const header = (kid: unknown) => ({ alg: "EdDSA", typ: "JWT", kid });
  const refused: [string, (u: User) => string][] = [
    // The public key as an HMAC secret: the classic algorithm confusion.
    ["HS256 keyed with the first key's x", (u) => signHs256(hs256(first.kid), u.claims, first.x)],
    [
      "HS256 keyed with the first key's raw public bytes",
      (u) => signHs256(hs256(first.kid), u.claims, Buffer.from(first.x, "base64url")),
    ],
    [
      "HS256 keyed with the published JWK as JSON",
      (u) => signHs256(hs256(first.kid), u.claims, JSON.stringify(published(first))),
    ],
    // docs/api.md, "Signing keys and the JWKS": a key set ends HS256, even with the right secret.
    [
      "HS256 keyed with JWT_SECRET_KEY",
      (u) => signHs256({ alg: "HS256", typ: "JWT" }, u.claims, api.jwtSecret),
    ],
    ["alg none naming the first key", (u) => unsigned({ alg: "none", kid: first.kid }, u.claims)],
    [
      "alg none keeping the real signature",
      (u) => `${unsigned({ alg: "none", kid: first.kid }, u.claims)}${u.token.split(".")[2]}`,
    ],
    [
      "an unknown kid on a key that is not listed",
      (u) => signEdDsa(header("stranger"), u.claims, newSigningKey("stranger")),
    ],
    [
      "a listed kid on a key that is not listed",
      (u) => signEdDsa(header(first.kid), u.claims, newSigningKey(first.kid)),
    ],
    ["an unknown kid on the first key", (u) => signEdDsa(header("third"), u.claims, first)],
    ["the second kid on the first key", (u) => signEdDsa(header(second.kid), u.claims, first)],
    ["no kid", (u) => signEdDsa({ alg: "EdDSA", typ: "JWT" }, u.claims, first)],
    ["a kid that is a number", (u) => signEdDsa(header(1), u.claims, first)],
    [
      "a header with crit extensions",
      (u) => signEdDsa({ ...header(first.kid), crit: ["exp"] }, u.claims, first),
    ],
    [
      "an expired token",
      (u) => {
        const iat = Number(u.claims.iat);
        return signEdDsa(header(first.kid), { ...u.claims, iat: iat - 3600, exp: iat - 60 }, first);
      },
    ],
    [
      "a payload edited after signing",
      (u) => {
        const [head, , signature] = u.token.split(".");
        return `${head}.${part({ ...u.claims, role: "ADMIN" })}.${signature}`;
      },
    ],
    ...[
      "../../etc/passwd",
      "../../../../../../dev/null",
      `${first.kid}/../${first.kid}`,
      "..%2f..%2fetc%2fpasswd",
      "C:\\Windows\\win.ini",
      "__proto__",
      "constructor",
      "?kid=first-2026",
    ].map((kid): [string, (u: User) => string] => [
      `a kid full of path characters (${kid}), on the first key`,
      (u) => signEdDsa(header(kid), u.claims, first),
    ]),
  ];

  it.each(refused)("refuses %s with 401 UNAUTHORIZED", async (_label, forge) => {
    const user = await signedIn();
    await expectUnauthorized(await getSelf(api, user.username, `Bearer ${forge(user)}`));
    // The account is untouched and its real token still works.
    expect((await getSelf(api, user.username, `Bearer ${user.token}`)).status).toBe(200);
  });
});

const hs256 = (kid: string) => ({ alg: "HS256", typ: "JWT", kid });

describe("key rotation, as docs/api.md's steps run it", () => {
  it("a key's tokens pass while it is listed and are 401 once it is removed", async () => {
    // One database under each deployment of the steps, as one database outlives deploys.
    const database = await createTestDatabase({ needsServer: true });
    const old = newSigningKey("old-key");
    const next = newSigningKey("next-key");
    const deploy = async <T>(keys: PrivateJwk[], step: (deployed: ContractApi) => Promise<T>) => {
      const deployed = await startApi({ database, env: signingKeysEnv(...keys) });
      try {
        return await step(deployed);
      } finally {
        await deployed.close();
      }
    };
    const status = (deployed: ContractApi, user: { username: string }, token: string) =>
      getSelf(deployed, user.username, `Bearer ${token}`).then((res) => res.status);
    const kidOf = (token: string) => decodePart(token, 0).kid;

    try {
      const user = await deploy([old], (d) => d.signedIn());
      expect(kidOf(user.token)).toBe(old.kid);

      // 1. The new key is added second: published, not yet signing.
      await deploy([old, next], async (d) => {
        expect((await readJwks(d)).keys.map((k) => k.kid)).toEqual([old.kid, next.kid]);
        expect(kidOf(await d.tokenFor(user.username, user.password))).toBe(old.kid);
        expect(await status(d, user, user.token)).toBe(200);
      });

      // 2. It moves first: new tokens are the new key's, the old key's still pass.
      const fresh = await deploy([next, old], async (d) => {
        const token = await d.tokenFor(user.username, user.password);
        expect(kidOf(token)).toBe(next.kid);
        expect(await status(d, user, user.token)).toBe(200);
        return token;
      });

      // 3. The old key is dropped: its tokens are refused, the new key's pass.
      await deploy([next], async (d) => {
        expect((await readJwks(d)).keys).toEqual([published(next)]);
        await expectUnauthorized(await getSelf(d, user.username, `Bearer ${user.token}`));
        expect(await status(d, user, fresh)).toBe(200);
      });
    } finally {
      await database.drop();
    }
  });
});
