import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_POSTGRES } from "../support/database";
import {
  command,
  composeServices,
  entrypoint,
  healthcheck,
  last,
  runtime,
  type Stage,
  stages,
} from "../support/dockerfile";
import { freePort, ROOT, runCommand } from "../support/processes";
import { run } from "../support/project-dir";

// Building and running the image with a container engine: tests/container/image.test.ts
// (npm run test:container), kept out of npm test for its time.
const SECRET = "container-test-secret-0123456789abcdef";

describe("Dockerfile", () => {
  it("builds in one stage and runs in another, from the same Node image", () => {
    expect(stages.map((s) => s.name)).toEqual(["build", "runtime"]);
    expect(stages[0]?.from).toMatch(/^node:24[-.\w]*$/);
    expect(runtime.from).toBe(stages[0]?.from);
    const build = stages[0] as Stage;
    expect(build.steps.filter((s) => s.keyword === "RUN").map((s) => s.args)).toEqual([
      "npm ci --omit=dev --ignore-scripts --no-audit --no-fund",
      "node scripts/build-node.mjs",
    ]);
  });

  it("runs compiled JavaScript as a non-root user, in production", () => {
    expect(command).toEqual([
      "node",
      "--enable-source-maps",
      // The heap flags `npm start` passes (package.json, docs/operations.md).
      "--max-semi-space-size=32",
      "--heap-growing-percent=50",
      "dist/node/server.js",
    ]);
    expect(runtime.steps.map((s) => s.args).join("\n")).not.toMatch(/tsx|src\//);
    const user = last(runtime, "USER") ?? "";
    expect(user).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
    // Production makes JWT_SECRET_KEY required: the server refuses to start without it.
    expect(last(runtime, "ENV")).toBe("NODE_ENV=production");
  });

  it("checks its health on /ready", () => {
    expect(last(runtime, "HEALTHCHECK")).toMatch(/^--interval=\S+ --timeout=\S+ .*CMD \[/);
    expect(healthcheck.slice(0, 2)).toEqual(["node", "-e"]);
    expect(healthcheck[2]).toContain("/ready");
  });

  it("copies only files that exist and that .dockerignore lets through", () => {
    const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8")
      .split("\n")
      .filter((l) => l && !l.startsWith("#"));
    const sources = stages
      .flatMap((s) => s.steps)
      .filter((s) => s.keyword === "COPY" && !s.args.startsWith("--from"))
      .flatMap((s) => s.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(existsSync(join(ROOT, source)), source).toBe(true);
      expect(ignored, source).not.toContain(source.split("/")[0]);
    }
    expect(ignored).toEqual(expect.arrayContaining(["node_modules", ".env", ".data", "dist"]));
  });
});

describe("compose.yaml", () => {
  const { db, migrate, api } = composeServices();

  it("runs Postgres, then the migrations, then the API", () => {
    expect(db?.image).toMatch(/^postgres:/);
    expect(db?.healthcheck).toBeDefined();
    expect(migrate?.command).toEqual(["node", "dist/node/migrate.js"]);
    expect(migrate?.depends_on).toEqual({ db: { condition: "service_healthy" } });
    expect(api?.depends_on).toEqual({ migrate: { condition: "service_completed_successfully" } });
    expect([migrate?.build, api?.build]).toEqual([".", "."]);
    expect(migrate?.image).toBe(api?.image);
  });

  it("gives both the database and a JWT_SECRET_KEY that must be set", () => {
    for (const service of [migrate, api]) {
      expect(service?.environment?.DATABASE_URL).toMatch(/^postgres:\/\/users:.*@db:5432\/users$/);
      expect(service?.environment?.JWT_SECRET_KEY).toMatch(/^\$\{JWT_SECRET_KEY:\?/);
    }
  });
});

/**
 * The runtime stage's /app, without a container: the bundles `node scripts/build-node.mjs` makes,
 * drizzle/, the entrypoint, and node_modules (a superset of the image's).
 */
describe("the image's commands, run on this machine", () => {
  let app = "";
  const name = `image_${Date.now().toString(36)}`;
  const base = new URL(process.env.TEST_DATABASE_URL ?? LOCAL_POSTGRES);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const admin = postgres(base.toString(), { max: 1, onnotice: () => {} });
  const env = {
    NODE_ENV: "production",
    DATABASE_URL: url.toString(),
    JWT_SECRET_KEY: SECRET,
    MFA_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
  };
  /** The image's ENTRYPOINT followed by `args`, in the image's working directory. */
  const inImage = (args: string[], extra: Record<string, string>) =>
    run(app, entrypoint[0] as string, [...entrypoint.slice(1).map(inApp), ...args], extra);
  const inApp = (path: string) => path.replace(/^\/app\//, `${app}/`);

  beforeAll(async () => {
    app = mkdtempSync(join(tmpdir(), "image-app-"));
    await admin.unsafe(`CREATE DATABASE "${name}"`);
    const built = await run(ROOT, process.execPath, ["scripts/build-node.mjs"]);
    expect(built.code, built.stderr).toBe(0);
    // What the runtime stage's COPY lines put in /app; the build stage's /app is this checkout.
    for (const { source, target } of runtimeCopies()) {
      const from = join(ROOT, source);
      const to = join(app, target);
      if (source === "node_modules") symlinkSync(from, to);
      else cpSync(from, to, { recursive: true });
    }
  }, 120_000);
  afterAll(async () => {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
    rmSync(app, { recursive: true, force: true });
  });

  it("the entrypoint refuses to start without DATABASE_URL", async () => {
    const refused = await inImage(command, { ...env, DATABASE_URL: "" });
    expect(refused.code).toBe(64);
    expect(refused.stderr).toBe(
      "DATABASE_URL is required in the container: postgres://user:password@host:5432/database\n",
    );
  });

  it("the server refuses to start without JWT_SECRET_KEY, naming it", async () => {
    const refused = await inImage(command, { ...env, JWT_SECRET_KEY: "" });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("JWT_SECRET_KEY: required when NODE_ENV=production");
  });

  it("compose's migrate command, then the server, which the HEALTHCHECK finds ready", async () => {
    const migrated = await inImage(migrateCommand(), env);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toBe("Migrations applied (DATABASE_URL).\n");

    const port = String(await freePort());
    const health = () => run(app, process.execPath, healthcheck.slice(1), { PORT: port });
    const server = spawnInImage(app, [...entrypoint.slice(1).map(inApp), ...command], {
      ...env,
      PORT: port,
    });
    try {
      const deadline = Date.now() + 30_000;
      while ((await health()).code !== 0) {
        expect(Date.now(), server.output()).toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 200));
      }
      const ready = await fetch(`http://127.0.0.1:${port}/ready`);
      expect(ready.status).toBe(200);
      // The pages' files come from public/ and swagger-ui-dist: the image must carry both.
      const asset = await fetch(`http://127.0.0.1:${port}/assets/swagger-ui-dist/swagger-ui.css`);
      expect(asset.status).toBe(200);
    } finally {
      await server.stop();
    }
    expect((await health()).code).toBe(1);
  });
});

/** The runtime stage's COPY lines as paths in this checkout and in /app (its WORKDIR). */
function runtimeCopies() {
  expect(last(runtime, "WORKDIR")).toBe("/app");
  return runtime.steps
    .filter((s) => s.keyword === "COPY")
    .map((s) => {
      const words = s.args.split(/\s+/);
      const fromBuild = words[0] === "--from=build";
      const [source = "", target = ""] = fromBuild ? words.slice(1) : words;
      const path = fromBuild ? source.replace(/^\/app\//, "") : source;
      const name = path.slice(path.lastIndexOf("/") + 1);
      return { source: path, target: target.endsWith("/") ? `${target}${name}` : target };
    });
}

/** compose.yaml's migrate command. */
function migrateCommand() {
  return composeServices().migrate?.command as string[];
}

function spawnInImage(cwd: string, args: string[], env: Record<string, string>) {
  return runCommand(entrypoint[0] as string, args, { ...process.env, ...env }, { cwd });
}
