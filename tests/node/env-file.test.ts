import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { verify } from "hono/jwt";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envSchema, loadConfig } from "../../src/config";
import { loadEnvFile } from "../../src/node/env-file";
import { createTestDatabase, LOCAL_POSTGRES, type TestDatabase } from "../support/database";
import { freePort, ROOT, SEED_ADMIN_VARS } from "../support/processes";
import { npmStart, projectDir, run } from "../support/project-dir";

const SECRET_IN_FILE = "secret-from-the-dot-env-file-0123456789";
const SECRET_IN_ENV = "secret-from-the-environment-0123456789ab";

/** `.env` text from name/value pairs. */
const dotEnv = (vars: Record<string, string>) =>
  Object.entries(vars)
    .map(([name, value]) => `${name}=${value}\n`)
    .join("");

/** Registers and logs in over HTTP; returns the login's body. */
async function tokenFrom(url: URL) {
  const username = `env_${Math.random().toString(36).slice(2, 8)}`;
  const password = "a password from the env test";
  const post = (path: string, body: unknown) =>
    fetch(new URL(path, url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const registered = await post("/api/user/register", {
    username,
    first_name: "Env",
    last_name: "File",
    email: `${username}@example.com`,
    password,
  });
  expect(registered.status, await registered.clone().text()).toBe(201);
  const login = await post("/api/user/login", { username, password });
  expect(login.status).toBe(200);
  return (await login.json()) as { access_token: string; expires_in: number };
}

const signedWith = (token: string, secret: string) =>
  verify(token, secret, "HS256").then(
    () => true,
    () => false,
  );

describe("loadEnvFile", () => {
  let project: ReturnType<typeof projectDir>;
  beforeAll(() => {
    project = projectDir("FROM_FILE=file\nBOTH=file\nEMPTY_IN_ENV=file\n");
  });
  afterAll(() => project.remove());

  it("adds the file's variables, and a variable already set (even empty) wins", () => {
    const env: NodeJS.ProcessEnv = { BOTH: "env", EMPTY_IN_ENV: "" };
    loadEnvFile(env, join(project.dir, ".env"));
    expect(env).toEqual({ FROM_FILE: "file", BOTH: "env", EMPTY_IN_ENV: "" });
  });

  it("does nothing when there is no file", () => {
    const env: NodeJS.ProcessEnv = { A: "1" };
    loadEnvFile(env, join(project.dir, "missing.env"));
    expect(env).toEqual({ A: "1" });
  });
});

describe(".env.example", () => {
  const text = readFileSync(join(ROOT, ".env.example"), "utf8");
  const lines = [...text.matchAll(/^# ([A-Z][A-Z0-9_]*)=(.*)$/gm)];

  it("lists every variable of the config schema and of db:seed-admin, once each", () => {
    const names = lines.map((line) => line[1]);
    expect([...names].sort()).toEqual([...Object.keys(envSchema.shape), ...SEED_ADMIN_VARS].sort());
  });

  it("holds only values the config accepts, once uncommented", () => {
    const uncommented = parseEnv(lines.map((line) => `${line[1]}=${line[2]}`).join("\n"));
    expect(() => loadConfig(uncommented)).not.toThrow();
  });
});

describe("npm start reads .env", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ needsServer: true });
  });
  afterAll(() => database.drop());

  it("binds the PORT and signs with the JWT_SECRET_KEY of .env", async () => {
    const port = await freePort();
    const project = projectDir(
      dotEnv({
        PORT: String(port),
        JWT_SECRET_KEY: SECRET_IN_FILE,
        DATABASE_URL: database.url as string,
      }),
    );
    const server = await npmStart(project.dir);
    try {
      expect(server.port).toBe(port);
      expect(server.output()).not.toContain("JWT_SECRET_KEY is not set");
      const { access_token } = await tokenFrom(server.url);
      expect(await signedWith(access_token, SECRET_IN_FILE)).toBe(true);
    } finally {
      await server.stop();
      project.remove();
    }
  });

  it("lets an exported variable win over the file", async () => {
    const [filePort, envPort] = [await freePort(), await freePort()];
    const project = projectDir(
      dotEnv({
        PORT: String(filePort),
        JWT_SECRET_KEY: SECRET_IN_FILE,
        DATABASE_URL: database.url as string,
        ACCESS_TOKEN_TTL: "600",
      }),
    );
    const server = await npmStart(project.dir, {
      PORT: String(envPort),
      JWT_SECRET_KEY: SECRET_IN_ENV,
    });
    try {
      expect(server.port).toBe(envPort);
      const { access_token, expires_in } = await tokenFrom(server.url);
      expect(await signedWith(access_token, SECRET_IN_ENV)).toBe(true);
      expect(await signedWith(access_token, SECRET_IN_FILE)).toBe(false);
      // The file still supplies what the environment does not set.
      expect(expires_in).toBe(600);
    } finally {
      await server.stop();
      project.remove();
    }
  });
});

describe("db:migrate, db:seed-admin and drizzle-kit read .env", () => {
  const base = new URL(process.env.TEST_DATABASE_URL ?? LOCAL_POSTGRES);
  const admin = postgres(base.toString(), { max: 1, onnotice: () => {} });
  const created: string[] = [];
  /** A new empty database, dropped after the file. */
  async function emptyDatabase() {
    const name = `envfile_${Date.now().toString(36)}_${created.length}`;
    await admin.unsafe(`CREATE DATABASE "${name}"`);
    created.push(name);
    const url = new URL(base);
    url.pathname = `/${name}`;
    return url.toString();
  }
  async function tablesOf(url: string) {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql`select tablename from pg_tables where schemaname = 'public'`;
      return rows.map((r) => r.tablename as string).sort();
    } finally {
      await sql.end();
    }
  }
  afterAll(async () => {
    for (const name of created)
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });

  it("npm run db:migrate and db:seed-admin work on the DATABASE_URL of .env; the environment wins", async () => {
    const url = await emptyDatabase();
    const project = projectDir(
      dotEnv({
        DATABASE_URL: url,
        ADMIN_USERNAME: "file_admin",
        ADMIN_PASSWORD: "an admin password from the file",
      }),
    );
    try {
      const migrated = await run(project.dir, "npm", ["run", "--silent", "db:migrate"]);
      expect(migrated.code, migrated.stderr).toBe(0);
      expect(migrated.stdout).toContain("Migrations applied (DATABASE_URL).");
      expect(await tablesOf(url)).toContain("users");

      const seeded = await run(project.dir, "npm", ["run", "--silent", "db:seed-admin"], {
        ADMIN_USERNAME: "env_admin",
      });
      expect(seeded.code, seeded.stderr).toBe(0);
      expect(seeded.stdout).toContain('Created ADMIN "env_admin"');
      // The password came from the file: none was generated.
      expect(seeded.stdout).not.toContain("Generated password");
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        const users = await sql`select username, role from users`;
        expect(users.map((u) => ({ ...u }))).toEqual([{ username: "env_admin", role: "ADMIN" }]);
      } finally {
        await sql.end();
      }
    } finally {
      project.remove();
    }
  });

  it("npx drizzle-kit migrate targets the DATABASE_URL of .env", async () => {
    const url = await emptyDatabase();
    const project = projectDir(dotEnv({ DATABASE_URL: url }));
    try {
      const migrated = await run(project.dir, "npx", ["drizzle-kit", "migrate"]);
      expect(migrated.code, migrated.stdout + migrated.stderr).toBe(0);
      expect(await tablesOf(url)).toContain("users");
    } finally {
      project.remove();
    }
  });
});
