import { createHash, randomBytes } from "node:crypto";

// node:crypto (workerd has it under nodejs_compat) rather than WebCrypto: these run on the
// calling thread, while WebCrypto's jobs queue on libuv's thread pool behind argon2.

/** 32 bytes (256 bits) from the CSPRNG, base64url without padding. */
export const randomToken = () => randomBytes(32).toString("base64url");

/** Hex SHA-256, how opaque tokens are stored: a database leak does not leak usable tokens. */
export const sha256Hex = (value: string) => createHash("sha256").update(value).digest("hex");
