import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { asc, like } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import { nodeArgon2 } from "../../src/node/argon2";
import { PGLITE_EXTENSIONS } from "../../src/node/pglite-extensions";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { createTestApi, type NodeTestApi } from "../support/node-api";
import { npmRun } from "../support/project-dir";

const seedUsers = (args: string[], env: Record<string, string>) =>
  npmRun("db:seed-users", env, args);

describe("npm run db:seed-users on Postgres", () => {
  let database: TestDatabase;
  let api: NodeTestApi;
  beforeAll(async () => {
    database = await createTestDatabase({ needsServer: true });
    api = await createTestApi({ database, hasher: nodeArgon2 });
  });
  afterAll(() => api.close());
  const env = () => ({ DATABASE_URL: database.url as string, PGLITE_DIR: "" });
  const seeded = () =>
    api.db.select().from(users).where(like(users.username, "seed\\_u%")).orderBy(asc(users.id));

  it("creates --count USER accounts sharing one password, printed once, which logs in", async () => {
    const first = await seedUsers(["--count=4500"], env());
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("Created 4500 accounts seed_u1…seed_u4500 in DATABASE_URL");
    const password = /Their shared password \(shown once\): (\S+)/.exec(first.stdout)?.[1];
    expect(password?.length).toBeGreaterThanOrEqual(32);

    const rows = await seeded();
    expect(rows).toHaveLength(4500);
    expect(new Set(rows.map((row) => row.passwordHash)).size).toBe(1);
    expect(rows[0]?.passwordHash.startsWith("$argon2id$v=19$m=19456,t=2,p=1$")).toBe(true);
    expect(rows.every((row) => row.role === "USER")).toBe(true);
    expect(rows.filter((row) => !row.active)).toHaveLength(450);
    expect(rows[41]).toMatchObject({ username: "seed_u42", email: "seed_u42@example.org" });
    // Names vary, so searches by name have something to find.
    expect(new Set(rows.map((row) => `${row.firstName} ${row.lastName}`)).size).toBeGreaterThan(
      1000,
    );

    const login = await api.send("POST", "/api/user/login", { username: "seed_u1", password });
    expect(login.status).toBe(200);
  });

  it("a second run continues the numbering, with SEED_USERS_PASSWORD when given", async () => {
    const run2 = await seedUsers(["--count=3"], {
      ...env(),
      SEED_USERS_PASSWORD: "seeded users' password",
    });
    expect(run2.code, run2.stderr).toBe(0);
    expect(run2.stdout).toContain("Created 3 accounts seed_u4501…seed_u4503");
    expect(run2.stdout).not.toContain("password");
    const login = await api.send("POST", "/api/user/login", {
      username: "seed_u4503",
      password: "seeded users' password",
    });
    expect(login.status).toBe(200);
  });

  it.each([
    [["--count=0"], {}, "--count must be a whole number"],
    [["--count=many"], {}, "--count must be a whole number"],
    [
      ["--count=1"],
      {
        NODE_ENV: "production",
        JWT_SECRET_KEY: "k3Jf9QmZ2xV7pL4sW8nR1tY6cB0dH5gA-_eUoIiPqXz",
        MFA_ENCRYPTION_KEY: "c2VlZC11c2Vycy10ZXN0LW1mYS1rZXktMDEyMzQ1Njc=",
      },
      "Refusing to seed test accounts with NODE_ENV=production",
    ],
    [["--count=1"], { SEED_USERS_PASSWORD: "password1" }, "SEED_USERS_PASSWORD: is too common"],
  ])("refuses %j %j and creates nothing", async (args, extra, message) => {
    const before = await seeded();
    const result = await seedUsers(args, { ...env(), ...extra });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
    expect(await seeded()).toEqual(before);
  });
});

describe("npm run db:seed-users on the embedded database", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "seed-users-pglite-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("seeds PGLITE_DIR when DATABASE_URL is unset", async () => {
    const result = await seedUsers(["--count=25"], { DATABASE_URL: "", PGLITE_DIR: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Created 25 accounts seed_u1…seed_u25 in ${dir}`);
    const db = await PGlite.create(dir, { extensions: PGLITE_EXTENSIONS });
    try {
      const { rows } = await db.query<{ n: number }>(
        "select count(*)::int as n from users where search_text like '%seed\\_u2%'",
      );
      expect(rows[0]?.n).toBe(7);
    } finally {
      await db.close();
    }
    // PGlite starts in WebAssembly twice here (the script, then the check): slow on a busy machine.
  }, 120_000);
});
