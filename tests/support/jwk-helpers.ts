import { Buffer } from "node:buffer";
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
} from "node:crypto";

// Ed25519 keys and JWTs made with node:crypto alone, never with the code under test: what the
// tests sign, the API must accept or refuse on its own merits, and what the API signs is checked
// by an independent verifier.

export type PrivateJwk = { kty: "OKP"; crv: "Ed25519"; kid: string; x: string; d: string };

/** A fresh Ed25519 key pair as a private JWK. */
export function newSigningKey(kid: string): PrivateJwk {
  const { x, d } = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  return { kty: "OKP", crv: "Ed25519", kid, x: x as string, d: d as string };
}

/** JWT_SIGNING_KEYS for these keys, the first one signing. */
export const signingKeysEnv = (...keys: PrivateJwk[]) => ({
  JWT_SIGNING_KEYS: JSON.stringify(keys),
});

const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A JWT with exactly this header and payload, signed with the private key `key`. */
export function signEdDsa(header: object, payload: object, key: PrivateJwk) {
  const input = `${part(header)}.${part(payload)}`;
  const privateKey = createPrivateKey({ key, format: "jwk" });
  return `${input}.${sign(null, Buffer.from(input), privateKey).toString("base64url")}`;
}

/** A JWT with exactly this header and payload, with an HMAC-SHA256 signature by `secret`. */
export function signHs256(header: object, payload: object, secret: string | Buffer) {
  const input = `${part(header)}.${part(payload)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

/** Whether the token's Ed25519 signature verifies with the public JWK `jwk` (x alone is used). */
export function verifiesWith(token: string, jwk: { x: string }) {
  const [header, payload, signature] = token.split(".");
  const publicKey = createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: jwk.x },
    format: "jwk",
  });
  const input = Buffer.from(`${header}.${payload}`);
  return verify(null, input, publicKey, Buffer.from(signature ?? "", "base64url"));
}

/** A JWT part (header or payload) as an object. */
export const decodePart = (token: string, index: 0 | 1): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split(".")[index] ?? "", "base64url").toString("utf8"));

/**
 * JWT_SIGNING_KEYS values the config must refuse, each with the name its message starts with
 * (the variable, or the variable and the member at fault) and the private material it holds,
 * which no message may quote.
 */
export function malformedKeySets(): {
  label: string;
  value: string;
  names: string;
  secrets: string[];
}[] {
  const a = newSigningKey("a");
  const b = newSigningKey("b");
  const { d: _d, ...publicOnly } = a;
  const cases: [string, unknown, string][] = [
    [
      "not JSON (a single key's text cut short)",
      JSON.stringify([a]).slice(0, -5),
      "JWT_SIGNING_KEYS",
    ],
    ["a single JWK instead of an array", a, "JWT_SIGNING_KEYS"],
    ["an empty array", [], "JWT_SIGNING_KEYS"],
    ["a public key only (no d)", [publicOnly], "JWT_SIGNING_KEYS.0.d"],
    ["an EC key", [{ ...a, kty: "EC", crv: "P-256" }], "JWT_SIGNING_KEYS.0.kty"],
    ["an X25519 key", [{ ...a, crv: "X25519" }], "JWT_SIGNING_KEYS.0.crv"],
    ["a key without a kid", [{ ...a, kid: undefined }], "JWT_SIGNING_KEYS.0.kid"],
    ["a kid with a slash", [{ ...a, kid: "../a" }], "JWT_SIGNING_KEYS.0.kid"],
    ["a kid twice", [a, { ...b, kid: a.kid }], "JWT_SIGNING_KEYS.1.kid"],
    ["the x of another key", [a, { ...b, x: a.x }], "JWT_SIGNING_KEYS.1.x"],
    ["a d of 31 bytes", [{ ...a, d: a.d.slice(0, 42) }], "JWT_SIGNING_KEYS.0.d"],
    ["an HS256 alg", [{ ...a, alg: "HS256" }], "JWT_SIGNING_KEYS.0.alg"],
  ];
  return cases.map(([label, value, names]) => ({
    label,
    value: typeof value === "string" ? value : JSON.stringify(value),
    names,
    secrets: [a.d, b.d, a.d.slice(0, 42)],
  }));
}
