import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { estimatedEntropyBits, isRepeatedBlock } from "../../src/auth/secret-strength";
import { ConfigError, envSchema, loadConfig, rateLimitedRoutes } from "../../src/config";
import { malformedKeySets, newSigningKey } from "../support/jwk-helpers";

// 32 random bytes, base64url: strong enough for production.
const KEY = "TEIzp3EvIE5B1xRo3oqYh014XjjFKkH-aXw6UL7nkis";
/** 32 bytes, base64: what production requires as MFA_ENCRYPTION_KEY. */
const MFA_KEY = "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
const variables = Object.keys(envSchema.shape);
/** The variables the Config regroups or renames instead of keeping their own field. */
const grouped = [
  "JWT_SECRET_KEY",
  "MFA_ENCRYPTION_KEY",
  "MFA_OLD_ENCRYPTION_KEYS",
  "LOGIN_LOCKOUT_THRESHOLD",
  "LOGIN_LOCKOUT_BASE",
];
const isRateLimit = (name: string) => name.startsWith("RATE_LIMIT_");
const camelCase = (name: string) =>
  name.toLowerCase().replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());

/** The ConfigError message for `env`, or undefined when it is valid. */
function problem(env: Record<string, string>) {
  try {
    loadConfig(env);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
}

describe("each variable maps to one Config field", () => {
  const { config } = loadConfig({ JWT_SECRET_KEY: KEY });
  const plain = variables.filter((name) => !grouped.includes(name) && !isRateLimit(name));

  it.each(plain)("%s is read into the field of its camelCase name", (name) => {
    expect(Object.keys(config)).toContain(camelCase(name));
  });

  it("every Config field comes from a variable", () => {
    expect(Object.keys(config).sort()).toEqual(
      [...plain.map(camelCase), "jwtSecret", "mfaKeys", "lockout", "rateLimits"].sort(),
    );
  });

  it("the RATE_LIMIT_* variables are those of the rate-limited routes, one rule each", () => {
    expect(variables.filter(isRateLimit)).toEqual(rateLimitedRoutes.map((r) => `RATE_LIMIT_${r}`));
    expect(Object.keys(config.rateLimits)).toEqual(rateLimitedRoutes);
  });

  it("a set value reaches its field", () => {
    const { config } = loadConfig({
      JWT_SECRET_KEY: KEY,
      HASH_QUEUE_TIMEOUT_MS: "250",
      LOGIN_LOCKOUT_BASE: "30",
      RATE_LIMIT_REFRESH: "3/7",
      CORS_ORIGINS: " https://a.example , ,https://b.example",
    });
    expect(config).toMatchObject({
      jwtSecret: KEY,
      hashQueueTimeoutMs: 250,
      lockout: { threshold: 5, baseSeconds: 30 },
      rateLimits: { REFRESH: { count: 3, seconds: 7 } },
      corsOrigins: ["https://a.example", "https://b.example"],
    });
  });
});

describe("loadConfig", () => {
  it("treats an empty string as unset", () => {
    const { config } = loadConfig({ JWT_SECRET_KEY: KEY, PORT: "", DATABASE_URL: "" });
    expect(config.port).toBe(8787);
    expect(config.databaseUrl).toBeUndefined();
  });

  it("outside production, a missing JWT_SECRET_KEY is a random key per load, with a warning", () => {
    const first = loadConfig({ NODE_ENV: "development", MFA_ENCRYPTION_KEY: MFA_KEY });
    const second = loadConfig({ JWT_SECRET_KEY: "", MFA_ENCRYPTION_KEY: MFA_KEY });
    expect(first.config.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(first.config.jwtSecret).not.toBe(second.config.jwtSecret);
    expect(first.warnings).toEqual([expect.stringMatching(/^JWT_SECRET_KEY is not set/)]);
  });

  it("warns that EXPOSE_RESET_TOKEN returns tokens", () => {
    const { warnings } = loadConfig({
      JWT_SECRET_KEY: KEY,
      MFA_ENCRYPTION_KEY: MFA_KEY,
      EXPOSE_RESET_TOKEN: "1",
    });
    expect(warnings).toEqual([expect.stringMatching(/^EXPOSE_RESET_TOKEN=true/)]);
  });

  it("in production, requires JWT_SECRET_KEY and refuses EXPOSE_RESET_TOKEN, naming each", () => {
    expect(problem({ NODE_ENV: "production" })).toMatch(
      /^ {2}JWT_SECRET_KEY: required when NODE_ENV=production/m,
    );
    expect(
      problem({ NODE_ENV: "production", JWT_SECRET_KEY: KEY, EXPOSE_RESET_TOKEN: "true" }),
    ).toMatch(/^ {2}EXPOSE_RESET_TOKEN: must not be enabled when NODE_ENV=production$/m);
    expect(
      problem({ NODE_ENV: "production", JWT_SECRET_KEY: KEY, MFA_ENCRYPTION_KEY: MFA_KEY }),
    ).toBeUndefined();
  });

  it("in production, requires MFA_ENCRYPTION_KEY, naming it; elsewhere a random one, with a warning", () => {
    expect(problem({ NODE_ENV: "production", JWT_SECRET_KEY: KEY })).toMatch(
      /^ {2}MFA_ENCRYPTION_KEY: required when NODE_ENV=production/m,
    );
    const { config, warnings } = loadConfig({ JWT_SECRET_KEY: KEY });
    expect(config.mfaKeys).toHaveLength(1);
    expect(warnings).toEqual([expect.stringMatching(/^MFA_ENCRYPTION_KEY is not set/)]);
  });

  it.each([
    ["too short", "c2hvcnQ="],
    ["not base64", "%".repeat(43)],
    ["33 bytes", "A".repeat(44)],
  ])("refuses an MFA_ENCRYPTION_KEY that is %s, quoting nothing", (_label, value) => {
    const message = problem({ JWT_SECRET_KEY: KEY, MFA_ENCRYPTION_KEY: value });
    expect(message).toMatch(/^ {2}MFA_ENCRYPTION_KEY: must be 32 bytes in base64/m);
    expect(message).not.toContain(value);
  });

  it("takes MFA_OLD_ENCRYPTION_KEYS for decrypting, after the current key, each with its id", () => {
    const old = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    const { config } = loadConfig({
      JWT_SECRET_KEY: KEY,
      MFA_ENCRYPTION_KEY: MFA_KEY,
      MFA_OLD_ENCRYPTION_KEYS: ` ${old} ,`,
    });
    expect(config.mfaKeys.map((k) => k.bytes.length)).toEqual([32, 32]);
    expect(config.mfaKeys[1]?.bytes[31]).toBe(31);
    expect(config.mfaKeys[0]?.id).toMatch(/^[0-9a-f]{8}$/);
    expect(config.mfaKeys[0]?.id).not.toBe(config.mfaKeys[1]?.id);
  });

  it("names every invalid variable", () => {
    const message = problem({ JWT_SECRET_KEY: "short", PORT: "http", RATE_LIMIT_LOGIN: "x" });
    expect(message).toMatch(/^Invalid configuration:\n/);
    for (const name of ["JWT_SECRET_KEY", "PORT", "RATE_LIMIT_LOGIN"]) {
      expect(message).toMatch(new RegExp(`^ {2}${name}: `, "m"));
    }
  });
});

describe("in production, a JWT_SECRET_KEY with low entropy is refused", () => {
  const production = (key: string) =>
    problem({ NODE_ENV: "production", JWT_SECRET_KEY: key, MFA_ENCRYPTION_KEY: MFA_KEY });

  it.each([
    ["32 × a", "a".repeat(32)],
    ["64 × k", "k".repeat(64)],
    ["ab × 16", "ab".repeat(16)],
    ["abcd × 8", "abcd".repeat(8)],
    ["four letters in runs", "aaaaaaaabbbbbbbbccccccccdddddddd"],
    ["a hex alphabet written twice", "0123456789abcdef".repeat(2)],
    ["a word repeated", "password1".repeat(4)],
    ["a block repeated with a partial tail", "s3cr3t-k3y!".repeat(3).slice(0, 32)],
    [
      "64 random binary digits (64 bits)",
      "0110100111010010001011101001011100100101101001110101101001011010",
    ],
  ])("%s: a ConfigError naming JWT_SECRET_KEY, never quoting it", (_label, key) => {
    const message = production(key);
    expect(message).toMatch(
      /^ {2}JWT_SECRET_KEY: too weak for NODE_ENV=production: .+; use 32 random bytes/m,
    );
    expect(message).not.toContain(key);
  });

  it("says why: a repeated block, or the estimated bits against the 80 required", () => {
    expect(production("password1".repeat(4))).toContain(": a short block repeated;");
    expect(production("aaaaaaaabbbbbbbbccccccccdddddddd")).toContain(
      ": an estimated 64 bits of entropy, at least 80 required (too few distinct characters);",
    );
  });

  it("outside production the same keys are accepted (development may use anything of 32+)", () => {
    for (const env of ["development", "test"]) {
      expect(problem({ NODE_ENV: env, JWT_SECRET_KEY: "a".repeat(32) })).toBeUndefined();
    }
  });

  it.each([
    ["32 random bytes as base64url (43 characters)", () => randomBytes(32).toString("base64url")],
    ["32 random bytes as base64 (44 characters)", () => randomBytes(32).toString("base64")],
    ["32 random bytes as hex (64 characters)", () => randomBytes(32).toString("hex")],
    ["16 random bytes as hex (32 characters)", () => randomBytes(16).toString("hex")],
    ["24 random bytes as base64url (32 characters)", () => randomBytes(24).toString("base64url")],
  ])("accepts every one of 200 keys made of %s", (_label, generate) => {
    for (let i = 0; i < 200; i++) expect(production(generate())).toBeUndefined();
  });

  it("estimates bits as length × the Shannon entropy of the key's own characters", () => {
    expect(estimatedEntropyBits("a".repeat(32))).toBe(0);
    expect(estimatedEntropyBits("ab".repeat(16))).toBe(32);
    expect(estimatedEntropyBits("abcdefghijklmnopqrstuvwxyz012345")).toBe(160);
    // Code points, not UTF-16 units: 32 distinct emoji are 32 symbols of 5 bits.
    const emoji = Array.from({ length: 32 }, (_, i) => String.fromCodePoint(0x1f600 + i)).join("");
    expect(estimatedEntropyBits(emoji)).toBe(160);
  });

  it("finds a repeated block only when the key is that block written out twice or more", () => {
    expect(isRepeatedBlock("abcabcab")).toBe(true);
    expect(isRepeatedBlock("abcabc")).toBe(true);
    expect(isRepeatedBlock("abcab")).toBe(false);
    expect(isRepeatedBlock(KEY)).toBe(false);
    expect(isRepeatedBlock("")).toBe(false);
  });
});

describe("JWT_SIGNING_KEYS", () => {
  it("unset, the key set is empty (tokens stay HS256)", () => {
    expect(loadConfig({ JWT_SECRET_KEY: KEY }).config.jwtSigningKeys).toEqual([]);
  });

  it("keeps the keys in order, each with only what signing needs", () => {
    const [a, b] = [newSigningKey("a"), newSigningKey("b")];
    // As WebCrypto exports a key, with members the config has no use for.
    const exported = { ...b, alg: "Ed25519", ext: true, key_ops: ["sign"] };
    const { config } = loadConfig({
      JWT_SECRET_KEY: KEY,
      JWT_SIGNING_KEYS: JSON.stringify([a, exported]),
    });
    expect(config.jwtSigningKeys).toEqual([a, b]);
  });

  it.each(malformedKeySets())(
    "in production, refuses $label, naming $names and quoting no key",
    ({ value, names, secrets }) => {
      const message = problem({
        NODE_ENV: "production",
        JWT_SECRET_KEY: KEY,
        MFA_ENCRYPTION_KEY: MFA_KEY,
        JWT_SIGNING_KEYS: value,
      });
      expect(message).toMatch(new RegExp(`^ {2}${names.replaceAll(".", "\\.")}: `, "m"));
      for (const secret of [value, ...secrets]) expect(message).not.toContain(secret);
    },
  );

  it("refuses a malformed set in development too: there is no key to fall back on", () => {
    expect(problem({ NODE_ENV: "development", JWT_SIGNING_KEYS: "[{" })).toMatch(
      /^ {2}JWT_SIGNING_KEYS: must be a JSON array of Ed25519 private JWKs/m,
    );
  });
});
