import { describe, expect, it } from "vitest";
import { ConfigError, envSchema, loadConfig, rateLimitedRoutes } from "../../src/config";

const KEY = "k".repeat(32);
const variables = Object.keys(envSchema.shape);
/** The variables the Config regroups or renames instead of keeping their own field. */
const grouped = ["JWT_SECRET_KEY", "LOGIN_LOCKOUT_THRESHOLD", "LOGIN_LOCKOUT_BASE"];
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
      [...plain.map(camelCase), "jwtSecret", "lockout", "rateLimits"].sort(),
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
    const first = loadConfig({ NODE_ENV: "development" });
    const second = loadConfig({ JWT_SECRET_KEY: "" });
    expect(first.config.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(first.config.jwtSecret).not.toBe(second.config.jwtSecret);
    expect(first.warnings).toEqual([expect.stringMatching(/^JWT_SECRET_KEY is not set/)]);
  });

  it("warns that EXPOSE_RESET_TOKEN returns tokens", () => {
    const { warnings } = loadConfig({ JWT_SECRET_KEY: KEY, EXPOSE_RESET_TOKEN: "1" });
    expect(warnings).toEqual([expect.stringMatching(/^EXPOSE_RESET_TOKEN=true/)]);
  });

  it("in production, requires JWT_SECRET_KEY and refuses EXPOSE_RESET_TOKEN, naming each", () => {
    expect(problem({ NODE_ENV: "production" })).toMatch(
      /^ {2}JWT_SECRET_KEY: required when NODE_ENV=production/m,
    );
    expect(
      problem({ NODE_ENV: "production", JWT_SECRET_KEY: KEY, EXPOSE_RESET_TOKEN: "true" }),
    ).toMatch(/^ {2}EXPOSE_RESET_TOKEN: must not be enabled when NODE_ENV=production$/m);
    expect(problem({ NODE_ENV: "production", JWT_SECRET_KEY: KEY })).toBeUndefined();
  });

  it("names every invalid variable", () => {
    const message = problem({ JWT_SECRET_KEY: "short", PORT: "http", RATE_LIMIT_LOGIN: "x" });
    expect(message).toMatch(/^Invalid configuration:\n/);
    for (const name of ["JWT_SECRET_KEY", "PORT", "RATE_LIMIT_LOGIN"]) {
      expect(message).toMatch(new RegExp(`^ {2}${name}: `, "m"));
    }
  });
});
