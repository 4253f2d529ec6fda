import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HEAP_FLAGS } from "../../bench/processes";
import { loadConfig } from "../../src/config";
import { nodeArgon2 } from "../../src/node/argon2";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { command as imageCommand } from "../support/dockerfile";
import { createTestApi, type NodeTestApi } from "../support/node-api";
import { ROOT } from "../support/processes";
import { npmRun } from "../support/project-dir";
import { scratchDatabase } from "../support/scratch-database";

describe("npm run db:seed-admin on Postgres", () => {
  let database: TestDatabase;
  let api: NodeTestApi;
  let env: Record<string, string>;
  beforeAll(async () => {
    database = await createTestDatabase({ needsServer: true });
    api = await createTestApi({ database, hasher: nodeArgon2 });
    env = {
      DATABASE_URL: database.url as string,
      ADMIN_USERNAME: "root_admin",
      ADMIN_EMAIL: "root@example.com",
    };
  });
  afterAll(() => api.close());

  it("without ADMIN_PASSWORD generates one, prints it once, and it logs in as an ADMIN", async () => {
    const run = await npmRun("db:seed-admin", env);
    expect(run.code, run.stderr).toBe(0);
    const password = /Generated password \(shown once, store it now\): (\S+)/.exec(run.stdout)?.[1];
    expect(password?.length).toBeGreaterThanOrEqual(32);
    const row = await api.userRow("root_admin");
    expect(row).toMatchObject({
      role: "ADMIN",
      active: true,
      email: "root@example.com",
      emailVerified: true,
    });
    expect(row?.passwordHash.startsWith("$argon2id$v=19$m=19456,t=2,p=1$")).toBe(true);
    const login = await api.send("POST", "/api/user/login", { username: "root_admin", password });
    expect(login.status).toBe(200);
  });

  it("is idempotent: a second run changes nothing and prints no password", async () => {
    const before = await api.userRow("root_admin");
    const run = await npmRun("db:seed-admin", { ...env, ADMIN_PASSWORD: "another long password" });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Account "root_admin" already exists.');
    expect(run.stdout).not.toContain("Generated password");
    expect(await api.userRow("root_admin")).toEqual(before);
  });

  it.each([
    ["a common password", "password123", "too common"],
    ["a password equal to the username", "Policy_Admin", "must not be the username"],
    ["a short password", "short", "at least 8 characters"],
  ])("refuses %s and creates nothing", async (_label, password, reason) => {
    const run = await npmRun("db:seed-admin", {
      ...env,
      ADMIN_USERNAME: "policy_admin",
      ADMIN_EMAIL: "policy_admin@example.com",
      ADMIN_PASSWORD: password,
    });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(reason);
    // The refusal names the rule, never the secret.
    expect(run.stderr).not.toContain(password);
    expect(await api.userRow("policy_admin")).toBeUndefined();
  });
});

describe("npm run db:seed-admin (and its old name seed:admin) on a database that was never migrated", () => {
  const { url: target } = scratchDatabase("unmigrated");

  it.each(["db:seed-admin", "seed:admin"])(
    "%s says in one line to run db:migrate first, exits 1 and creates nothing",
    async (script) => {
      const run = await npmRun(script, {
        DATABASE_URL: target.toString(),
        ADMIN_PASSWORD: "an unmigrated admin password",
      });
      expect(run.code).toBe(1);
      expect(run.stderr).toBe("The database has no users table: run npm run db:migrate first.\n");
      expect(run.stdout).toBe("");
      const sql = postgres(target.toString(), { max: 1, onnotice: () => {} });
      try {
        expect(await sql`select tablename from pg_tables where schemaname = 'public'`).toEqual([]);
      } finally {
        await sql.end();
      }
    },
  );
});

describe("npm run db:seed-admin on the embedded database", () => {
  const dir = mkdtempSync(join(tmpdir(), "seed-pglite-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("creates the admin in PGLITE_DIR when DATABASE_URL is unset, once", async () => {
    const env = { DATABASE_URL: "", PGLITE_DIR: dir, ADMIN_PASSWORD: "embedded admin secret" };
    const first = await npmRun("db:seed-admin", env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('Created ADMIN "admin" <admin@example.com>.');
    const second = await npmRun("db:seed-admin", env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('Account "admin" already exists.');
    // Two cold starts of PGlite: seconds each alone, over 15 s each on a loaded 2-core machine.
  }, 90_000);
});

describe("npm run db:migrate", () => {
  const { url: target } = scratchDatabase("migrate");

  it("creates every table in an empty DATABASE_URL and is safe to run again", async () => {
    for (const attempt of [1, 2]) {
      const run = await npmRun("db:migrate", { DATABASE_URL: target.toString() });
      expect(run.code, `run ${attempt}: ${run.stderr}`).toBe(0);
      expect(run.stdout).toContain("Migrations applied");
    }
    const sql = postgres(target.toString(), { max: 1, onnotice: () => {} });
    try {
      const tables =
        await sql`select tablename from pg_tables where schemaname = 'public' order by 1`;
      expect(tables.map((t) => t.tablename)).toEqual([
        "audit_log",
        "email_verification_tokens",
        "login_throttles",
        "mail_delivery",
        "mfa_backup_codes",
        "mfa_challenges",
        "mfa_factors",
        "password_reset_tokens",
        "rate_limits",
        "refresh_tokens",
        "sessions",
        "users",
      ]);
    } finally {
      await sql.end();
    }
  });
});

describe("npm run keys:new", () => {
  it("prints one fresh Ed25519 key, alone on stdout, that JWT_SIGNING_KEYS accepts", async () => {
    const runs = await Promise.all([npmRun("keys:new", {}), npmRun("keys:new", {})]);
    const keys = runs.map((run) => {
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.trimEnd().split("\n")).toHaveLength(1);
      expect(run.stderr).toContain("JWT_SIGNING_KEYS");
      return JSON.parse(run.stdout) as Record<string, string>;
    });
    for (const key of keys) {
      expect(Object.keys(key).sort()).toEqual(["crv", "d", "kid", "kty", "x"]);
      expect(key.kid).toMatch(/^\d{4}-\d{2}-\d{2}-[A-Za-z0-9_-]{8}$/);
    }
    const [a, b] = keys as [Record<string, string>, Record<string, string>];
    expect(a.kid).not.toBe(b.kid);
    expect(a.d).not.toBe(b.d);
    // The config checks the pair whole (x is the public key of d) and that kids differ.
    const { config } = loadConfig({ JWT_SIGNING_KEYS: JSON.stringify(keys) });
    expect(config.jwtSigningKeys.map((k) => k.kid)).toEqual([a.kid, b.kid]);
  });
});

const scripts = (
  JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
  }
).scripts;

describe("the npm scripts", () => {
  it("run every command but `npm start` (scripts/start.mjs checks itself) through scripts/run.mjs", () => {
    const unchecked = Object.entries(scripts).filter(
      ([name, command]) =>
        !command.startsWith("node scripts/run.mjs ") &&
        // npm start's exact command: the test of its V8 flags below.
        !(name === "start" && command.startsWith("node --liftoff-only ")) &&
        !/^npm run --silent [\w:-]+ --$/.test(command),
    );
    expect(unchecked).toEqual([]);
    expect(readFileSync(join(ROOT, "scripts/start.mjs"), "utf8")).toContain(
      'await import("./check-node.mjs")',
    );
  });

  it("start the server with the same V8 heap flags as the image and the bench", () => {
    // What bounds memory under a login flood (docs/operations.md, "Memory"): the bench measures
    // the server with the flags npm start and the image pass.
    expect(scripts.start?.split(" ")).toEqual([
      "node",
      "--liftoff-only",
      ...HEAP_FLAGS,
      "scripts/start.mjs",
    ]);
    expect(imageCommand).toEqual([
      "node",
      "--enable-source-maps",
      ...HEAP_FLAGS,
      "dist/node/server.js",
    ]);
  });

  it("keep the old names for one release, each running the new script with its arguments", () => {
    const aliases = { check: "lint", "seed:admin": "db:seed-admin", soak: "bench:soak" };
    for (const [old, current] of Object.entries(aliases)) {
      expect(scripts[current], current).toMatch(/^node scripts\/run\.mjs /);
      expect(scripts[old], old).toBe(`npm run --silent ${current} --`);
    }
  });
});

describe("scripts/run.mjs", () => {
  const dir = mkdtempSync(join(tmpdir(), "run-mjs-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  /** A command that leaves `file` behind when it runs. */
  const touch = (file: string) => [
    "node",
    "-e",
    `require("fs").writeFileSync(${JSON.stringify(file)}, "")`,
  ];
  const runner = join(ROOT, "scripts/run.mjs");

  async function node(args: string[]) {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, args, { cwd: ROOT });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it("on a Node older than 22 (the system's, when the `node` devDependency was not installed) refuses and runs nothing", async () => {
    // The same binary, reporting an old version: what check-node.mjs reads.
    const old =
      'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.20.2"})';
    const ran = join(dir, "old-node");
    const run = await node(["--import", old, runner, ...touch(ran)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("This project needs Node.js >= 22 (found 20.20.2).");
    expect(existsSync(ran)).toBe(false);
  });

  it("on this Node runs the command and ends with its exit code", async () => {
    const ran = join(dir, "this-node");
    expect((await node([runner, ...touch(ran)])).code).toBe(0);
    expect(existsSync(ran)).toBe(true);
    const failing = await node([runner, "node", "-e", "process.exit(3)"]);
    expect(failing.code).toBe(3);
  });
});
