import { generateKeyPairSync, randomBytes } from "node:crypto";

// `npm run keys:new`: a fresh Ed25519 key for JWT_SIGNING_KEYS, so nobody hand-crafts a JWK. The
// key goes to stdout alone (to pipe into a secret store); the next step to stderr.
const { x, d } = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
// The date first, so a key set reads oldest to newest at a glance; the random part keeps two keys
// made the same day apart.
const kid = `${new Date().toISOString().slice(0, 10)}-${randomBytes(6).toString("base64url")}`;
console.log(JSON.stringify({ kty: "OKP", crv: "Ed25519", kid, x, d }));
console.error(
  "A private key: keep it secret. Add it second in JWT_SIGNING_KEYS and deploy before it signs " +
    '(docs/api.md, "Signing keys and the JWKS": rotation).',
);
