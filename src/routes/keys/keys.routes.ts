import { createRoute, z } from "@hono/zod-openapi";
import { jsonContent, noSecurity, offlineErrorResponses } from "../../lib/openapi";

const PublicJwk = z
  .object({
    kty: z.literal("OKP"),
    crv: z.literal("Ed25519"),
    kid: z.string(),
    x: z.string().openapi({ description: "The public key, 32 bytes in unpadded base64url" }),
    alg: z.literal("EdDSA"),
    use: z.literal("sig"),
  })
  .openapi("PublicJwk");

const Jwks = z.object({ keys: z.array(PublicJwk) }).openapi("Jwks");

export const jwks = createRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  operationId: "jwks",
  tags: ["Keys"],
  security: noSecurity,
  summary: "The public keys access tokens are signed with (a JWK Set, RFC 7517)",
  description:
    "EdDSA (Ed25519) keys, one per `kid` a token header may name; a resource server verifies " +
    "access tokens with them (e.g. hono/jwk with `jwks_uri`). Empty when the server signs with " +
    "HS256 (JWT_SIGNING_KEYS unset). Cacheable for 5 minutes.",
  responses: {
    200: {
      ...jsonContent(Jwks, "The key set"),
      headers: { "Cache-Control": { schema: { type: "string", example: "public, max-age=300" } } },
    },
    ...offlineErrorResponses(),
  },
});

export type JwksRoute = typeof jwks;
