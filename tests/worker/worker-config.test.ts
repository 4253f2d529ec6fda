import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config";
import { passwordResetTokens } from "../../src/db/schema";
import { workerConfig } from "../../src/worker/config";
import { resetMailsTo } from "../support/auth-helpers";
import { malformedKeySets } from "../support/jwk-helpers";
import { TEST_JWT_SECRET } from "../support/node-api";
import { TEST_MFA_KEY } from "../support/test-env";
import { createWorkerApi } from "../support/worker-api";

const HYPERDRIVE = { connectionString: "postgres://user:pw@host.hyperdrive.local:5432/db" };
const APP_URL = "https://app.example.test/reset-password?token=";
const EMAIL_VERIFY_URL = "https://app.example.test/verify-email?token=";

/** The ConfigError message for `env`, or undefined when it is valid. */
function problem(env: Record<string, unknown>) {
  try {
    workerConfig(env);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
}

describe("the Worker's bindings are validated at the entry", () => {
  it("names a missing Hyperdrive binding", () => {
    expect(problem({ JWT_SECRET_KEY: TEST_JWT_SECRET })).toMatch(
      /^ {2}HYPERDRIVE: binding missing/m,
    );
  });

  it.each(["development", "test", "production"])(
    "requires JWT_SECRET_KEY even when NODE_ENV=%s (a per-isolate key would break tokens)",
    (nodeEnv) => {
      expect(problem({ HYPERDRIVE, NODE_ENV: nodeEnv })).toMatch(/JWT_SECRET_KEY: secret missing/);
    },
  );

  it.each(["development", "test", "production"])(
    "requires MFA_ENCRYPTION_KEY even when NODE_ENV=%s (a per-isolate key would lose the factors)",
    (nodeEnv) => {
      const env = { HYPERDRIVE, JWT_SECRET_KEY: TEST_JWT_SECRET, NODE_ENV: nodeEnv, APP_URL };
      expect(problem(env)).toMatch(/^ {2}MFA_ENCRYPTION_KEY: secret missing; set it with/m);
    },
  );

  it("names both when both are missing", () => {
    const message = problem({}) ?? "";
    expect(message).toContain("HYPERDRIVE");
    expect(message).toContain("JWT_SECRET_KEY");
  });

  it("names an invalid var through the shared config rules", () => {
    expect(
      problem({ HYPERDRIVE, MFA_ENCRYPTION_KEY: TEST_MFA_KEY, JWT_SECRET_KEY: "short" }),
    ).toMatch(/JWT_SECRET_KEY: .*32/);
    expect(
      problem({
        HYPERDRIVE,
        MFA_ENCRYPTION_KEY: TEST_MFA_KEY,
        JWT_SECRET_KEY: TEST_JWT_SECRET,
        ACCESS_TOKEN_TTL: "soon",
      }),
    ).toMatch(/ACCESS_TOKEN_TTL/);
  });

  it("refuses EXPOSE_RESET_TOKEN in production, as on Node", () => {
    const env = {
      HYPERDRIVE,
      JWT_SECRET_KEY: TEST_JWT_SECRET,
      MFA_ENCRYPTION_KEY: TEST_MFA_KEY,
      NODE_ENV: "production",
      EXPOSE_RESET_TOKEN: "true",
    };
    expect(problem(env)).toMatch(/EXPOSE_RESET_TOKEN/);
  });

  it("refuses a low-entropy JWT_SECRET_KEY in production, as on Node, but not in development", () => {
    const weak = { HYPERDRIVE, MFA_ENCRYPTION_KEY: TEST_MFA_KEY, JWT_SECRET_KEY: "a".repeat(32) };
    expect(problem({ ...weak, NODE_ENV: "production" })).toMatch(
      /^ {2}JWT_SECRET_KEY: too weak for NODE_ENV=production: /m,
    );
    expect(problem({ ...weak, NODE_ENV: "development" })).toBeUndefined();
  });

  it("ignores TRUST_PROXY: the client address is CF-Connecting-IP, never X-Forwarded-For", () => {
    const env = {
      HYPERDRIVE,
      MFA_ENCRYPTION_KEY: TEST_MFA_KEY,
      JWT_SECRET_KEY: TEST_JWT_SECRET,
      TRUST_PROXY: "2",
    };
    expect(workerConfig(env).trustProxy).toBe(0);
  });

  it("requires APP_URL when NODE_ENV=production, and only then", () => {
    const strong = {
      HYPERDRIVE,
      MFA_ENCRYPTION_KEY: TEST_MFA_KEY,
      JWT_SECRET_KEY: randomBytes(32).toString("base64url"),
    };
    expect(problem({ ...strong, NODE_ENV: "production" })).toMatch(
      /^ {2}APP_URL: required on Workers when NODE_ENV=production/m,
    );
    expect(problem({ ...strong, NODE_ENV: "production", APP_URL: "" })).toMatch(/APP_URL/);
    expect(problem({ ...strong, NODE_ENV: "production", APP_URL, EMAIL_VERIFY_URL })).toBe(
      undefined,
    );
    expect(problem({ ...strong, NODE_ENV: "development" })).toBeUndefined();
  });

  it("requires EMAIL_VERIFY_URL when NODE_ENV=production, and only then", () => {
    const strong = {
      HYPERDRIVE,
      MFA_ENCRYPTION_KEY: TEST_MFA_KEY,
      JWT_SECRET_KEY: randomBytes(32).toString("base64url"),
    };
    expect(problem({ ...strong, NODE_ENV: "production", APP_URL })).toMatch(
      /^ {2}EMAIL_VERIFY_URL: required on Workers when NODE_ENV=production/m,
    );
    const invalid = { ...strong, NODE_ENV: "production", APP_URL, EMAIL_VERIFY_URL: "nope" };
    expect(problem(invalid)).toMatch(/^ {2}EMAIL_VERIFY_URL: /m);
    expect(problem({ ...strong, NODE_ENV: "development" })).toBeUndefined();
  });

  it("builds the config once per bindings object", () => {
    const env = {
      HYPERDRIVE,
      MFA_ENCRYPTION_KEY: TEST_MFA_KEY,
      JWT_SECRET_KEY: TEST_JWT_SECRET,
      NODE_ENV: "production",
      APP_URL,
      EMAIL_VERIFY_URL,
    };
    const config = workerConfig(env);
    expect(config).toMatchObject({ jwtSecret: TEST_JWT_SECRET, nodeEnv: "production" });
    expect(workerConfig(env)).toBe(config);
  });
});

/** POSTs JSON to the Worker over HTTP with the Host header the client chooses (fetch would not). */
function postWithHost(base: URL, path: string, body: unknown, host: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(
      new URL(path, base),
      { method: "POST", headers: { host, "content-type": "application/json" } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

// In workerd: the Worker as deployed, wrangler.toml's NODE_ENV=production, a real secret.
describe("reset links on Workers in production never follow the request's Host", () => {
  const JWT_SECRET_KEY = randomBytes(32).toString("base64url");
  const logged: string[] = [];
  let withoutAppUrl: Awaited<ReturnType<typeof createWorkerApi>>;
  let withAppUrl: Awaited<ReturnType<typeof createWorkerApi>>;
  beforeAll(async () => {
    [withoutAppUrl, withAppUrl] = await Promise.all([
      createWorkerApi({
        env: { NODE_ENV: "production", JWT_SECRET_KEY, APP_URL: "" },
        onLog: (entry) => logged.push(entry.message),
      }),
      createWorkerApi({
        env: { NODE_ENV: "production", JWT_SECRET_KEY, APP_URL, EMAIL_VERIFY_URL },
      }),
    ]);
  });
  afterAll(() => Promise.all([withoutAppUrl?.close(), withAppUrl?.close()]));

  it("without APP_URL every request is 500 INTERNAL, the log names APP_URL, nothing is mailed", async () => {
    const pair = { username: "victim", email: "victim@example.com" };
    const res = await postWithHost(
      withoutAppUrl.url,
      "/api/user/forget_password",
      pair,
      "evil.example",
    );
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body)).toEqual({ msg: "Internal server error.", code: "INTERNAL" });
    expect(logged.join("\n")).toMatch(
      /^ {2}APP_URL: required on Workers when NODE_ENV=production/m,
    );
    expect(await resetMailsTo(withoutAppUrl, pair.email)).toEqual([]);
    expect(await withoutAppUrl.db.select().from(passwordResetTokens)).toEqual([]);
    expect((await withoutAppUrl.unchecked("/ready")).status).toBe(500);
  });

  it("with APP_URL, `Host: evil.example` never appears in the mailed link", async () => {
    const user = await withAppUrl.createUser();
    const pair = { username: user.username, email: user.email };
    const res = await postWithHost(
      withAppUrl.url,
      "/api/user/forget_password",
      pair,
      "evil.example",
    );
    expect(res.status).toBe(200);
    const [mail, ...others] = await resetMailsTo(withAppUrl, user.email);
    expect(others).toEqual([]);
    expect(mail?.text).toMatch(
      /https:\/\/app\.example\.test\/reset-password\?token=[A-Za-z0-9_-]{43}/,
    );
    expect(`${mail?.text}${mail?.html}`).not.toContain("evil.example");
  });

  it("with EMAIL_VERIFY_URL, `Host: evil.example` never appears in the verification link", async () => {
    const username = `host_${Math.random().toString(36).slice(2, 8)}`;
    const account = {
      username,
      first_name: "Host",
      last_name: "Header",
      email: `${username}@example.com`,
      password: "a password for the host test",
    };
    const res = await postWithHost(withAppUrl.url, "/api/user/register", account, "evil.example");
    expect(res.status).toBe(201);
    const [mail, ...others] = await withAppUrl.mailsTo(account.email);
    expect(others).toEqual([]);
    expect(mail?.text).toMatch(
      /https:\/\/app\.example\.test\/verify-email\?token=[A-Za-z0-9_-]{43}/,
    );
    expect(`${mail?.text}${mail?.html}`).not.toContain("evil.example");
  });
});

describe("a malformed JWT_SIGNING_KEYS on the Worker", () => {
  const env = {
    HYPERDRIVE,
    MFA_ENCRYPTION_KEY: TEST_MFA_KEY,
    JWT_SECRET_KEY: TEST_JWT_SECRET,
    NODE_ENV: "production",
    APP_URL,
    EMAIL_VERIFY_URL,
  };

  it.each(malformedKeySets())("is refused ($label), naming $names", ({ value, names, secrets }) => {
    const message = problem({ ...env, JWT_SIGNING_KEYS: value });
    expect(message).toMatch(new RegExp(`^ {2}${names.replaceAll(".", "\\.")}: `, "m"));
    for (const secret of [value, ...secrets]) expect(message).not.toContain(secret);
  });

  it("in workerd, every request is a 500 and the log names the variable, never the key", async () => {
    // The one mistake only a key import would otherwise find.
    const mismatched = malformedKeySets().find((set) => set.label === "the x of another key");
    const logged: string[] = [];
    const api = await createWorkerApi({
      env: { JWT_SIGNING_KEYS: mismatched?.value ?? "" },
      onLog: (entry) => logged.push(entry.message),
    });
    try {
      const res = await api.unchecked("/health");
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ msg: "Internal server error.", code: "INTERNAL" });
      const log = logged.join("\n");
      expect(log).toMatch(/^ {2}JWT_SIGNING_KEYS\.1\.x: is not the public key of d/m);
      for (const secret of mismatched?.secrets ?? []) expect(log).not.toContain(secret);
    } finally {
      await api.close();
    }
  });
});
