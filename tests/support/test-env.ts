import { rateLimitedRoutes } from "../../src/config";

export const TEST_JWT_SECRET = "test-secret-test-secret-test-secret-0123456789";
/** 32 bytes, base64: the TOTP secrets' key in every test API (the Worker requires one). */
export const TEST_MFA_KEY = "dGVzdC1tZmEta2V5LXRlc3QtbWZhLWtleS0wMTIzNDU=";

/**
 * The environment every test API starts with, on every runtime. Per-IP limits and the reset-email
 * interval are off because a test file is one client sending many requests; the tests of those
 * rules turn them on. A burst of real argon2 runs (20 guesses at once) may wait longer than the
 * default second for a hashing slot on a loaded machine; the tests of that 503 set their own.
 * `overrides` win.
 */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: "test",
    JWT_SECRET_KEY: TEST_JWT_SECRET,
    MFA_ENCRYPTION_KEY: TEST_MFA_KEY,
    ...Object.fromEntries(rateLimitedRoutes.map((route) => [`RATE_LIMIT_${route}`, "off"])),
    RESET_EMAIL_INTERVAL: "0",
    // A line per request would bury the test report; the access-log tests turn it on.
    ACCESS_LOG: "off",
    HASH_QUEUE_TIMEOUT_MS: "10000",
    ...overrides,
  };
}
