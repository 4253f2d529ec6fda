import { createHmac, createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { hash } from "@node-rs/argon2";
import { issueAccessToken, type TokenKeys, verifyAccessToken } from "../src/auth/jwt";
import { ARGON2_PARAMS } from "../src/auth/password";
import { loadConfig } from "../src/config";
import { systemClock } from "../src/deps";
import type { Check } from "./report";
import { median } from "./stats";

/** JWT_SIGNING_KEYS of one fresh Ed25519 key, for the API processes that sign with EdDSA. */
export function benchSigningKeys() {
  const { x, d } = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  return JSON.stringify([{ kty: "OKP", crv: "Ed25519", kid: "bench", x, d }]);
}

type Sample = { [name: string]: number };

/** argon2id hashes kept in flight: libuv's default thread pool, which WebCrypto shares on Node. */
const BUSY = 4;

/**
 * What checking one access token costs the API, in µs, measured in the bench process with the
 * app's own verifyAccessToken: a token seen for the first time (signature, then the claims) and
 * one seen before (the verified-token cache), for HS256 and EdDSA; then the bare primitives.
 * Sequential, one token at a time: the cost of a request's verification, not a throughput.
 */
export async function measureTokenVerification(tokens: number, rounds: number): Promise<Check[]> {
  const secret = "bench-token-verify-secret-0123456789-abcdef";
  const hs256: TokenKeys = loadConfig({ JWT_SECRET_KEY: secret }).config;
  const eddsa: TokenKeys = loadConfig({
    JWT_SECRET_KEY: secret,
    JWT_SIGNING_KEYS: benchSigningKeys(),
  }).config;
  const samples: Sample[] = [];
  for (let round = 0; round < rounds; round++) {
    const sample: Sample = {};
    for (const [name, keys] of [
      ["HS256", hs256],
      ["EdDSA", eddsa],
    ] as const) {
      // Fresh tokens each round (each has its own jti), so the first pass never hits the cache.
      const issued = await issueMany(keys, tokens);
      sample[`${name}, first sight`] = await perToken(issued, (t) =>
        verifyAccessToken(t, keys, systemClock),
      );
      sample[`${name}, seen before`] = await perToken(issued, (t) =>
        verifyAccessToken(t, keys, systemClock),
      );
    }
    Object.assign(sample, await primitives(eddsa, tokens));
    samples.push(sample);
  }
  const names = Object.keys(samples[0] ?? {});
  return names.map((name) => ({
    name: LABELS[name] ?? name,
    value: median(samples.map((s) => s[name] as number)),
    unit: "µs",
    target: "",
    holds: null,
  }));
}

const LABELS: Record<string, string> = {
  "HS256, first sight": "HS256 token, first sight (HMAC-SHA256, claims parsed)",
  "HS256, seen before": "HS256 token, seen before (the verified-token cache)",
  "EdDSA, first sight": "EdDSA token, first sight (Ed25519, claims parsed)",
  "EdDSA, seen before": "EdDSA token, seen before (the verified-token cache)",
  "raw HMAC": "bare HMAC-SHA256 of a token, node:crypto (the API's HS256)",
  "raw node:crypto": "bare Ed25519 verify, node:crypto (the API's EdDSA)",
  "raw WebCrypto": "bare Ed25519 verify, WebCrypto, awaited (not used: see below)",
  "node:crypto behind argon2": `bare Ed25519 verify, node:crypto, ${BUSY} argon2id hashes in flight`,
  "WebCrypto behind argon2": `bare Ed25519 verify, WebCrypto, ${BUSY} argon2id hashes in flight`,
};

async function issueMany(keys: TokenKeys, count: number) {
  const user = { id: 1, role: "USER" as const, tokenVersion: 0 };
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    tokens.push((await issueAccessToken(user, keys, 900, systemClock)).access_token);
  }
  return tokens;
}

/** Mean µs per item of `check`, one item after the other; each must pass. */
async function perToken<T>(items: T[], check: (item: T) => unknown) {
  const started = performance.now();
  for (const item of items) {
    if (!(await check(item))) throw new Error("a bench token did not verify");
  }
  return ((performance.now() - started) * 1000) / items.length;
}

/**
 * The signature checks alone, on tokens the API signed; then again while argon2id fills libuv's
 * thread pool (its default 4 threads, as logins do with HASH_CONCURRENCY ≥ 4), where Node runs
 * WebCrypto's jobs: why the API verifies with node:crypto on the calling thread.
 */
async function primitives(eddsa: TokenKeys, count: number): Promise<Sample> {
  const [jwk] = eddsa.jwtSigningKeys;
  if (!jwk) throw new Error("no bench key");
  const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
  const webKey = await crypto.subtle.importKey("jwk", publicJwk, "Ed25519", false, ["verify"]);
  const nodeKey = createPublicKey({ key: publicJwk, format: "jwk" });
  const parts = (await issueMany(eddsa, count)).map((token) => {
    const [header, body, signature] = token.split(".");
    return {
      input: Buffer.from(`${header}.${body}`),
      signature: Buffer.from(signature ?? "", "base64url"),
    };
  });
  const inputs = parts.map((p) => p.input.toString());
  const byNode = (p: (typeof parts)[0]) => verify(null, p.input, nodeKey, p.signature);
  const byWeb = (p: (typeof parts)[0]) =>
    crypto.subtle.verify("Ed25519", webKey, p.signature, p.input);
  const sample: Sample = {
    "raw HMAC": await perToken(inputs, (input) =>
      createHmac("sha256", "bench-token-verify-secret").update(input).digest("base64url"),
    ),
    "raw node:crypto": await perToken(parts, byNode),
    "raw WebCrypto": await perToken(parts, byWeb),
  };
  // Fewer: each WebCrypto verify may now wait for a hash to finish.
  const few = parts.slice(0, Math.max(10, Math.floor(count / 20)));
  await whileHashing(async () => {
    sample["node:crypto behind argon2"] = await perToken(few, byNode);
    sample["WebCrypto behind argon2"] = await perToken(few, byWeb);
  });
  return sample;
}

/** Runs `work` while BUSY argon2id hashes with the app's parameters are always in flight. */
async function whileHashing(work: () => Promise<void>) {
  let done = false;
  const hashing = async () => {
    while (!done) await hash("bench password", { algorithm: 2, ...ARGON2_PARAMS });
  };
  const hashers = Array.from({ length: BUSY }, hashing);
  try {
    await work();
  } finally {
    done = true;
    await Promise.all(hashers);
  }
}
