import { type ChildProcess, execFile, spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { LOCAL_POSTGRES } from "../support/database";
import { freePort, ROOT, run } from "../support/project-dir";

const SECRET = "container-test-secret-0123456789abcdef";

type Instruction = { keyword: string; args: string };
type Stage = { from: string; name?: string; steps: Instruction[] };

/** The Dockerfile's stages, each with its instructions (continuation lines joined). */
function dockerfileStages(text: string) {
  const lines = text
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword = "", rest = ""] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    const upper = keyword.toUpperCase();
    if (upper === "ARG" && stages.length === 0) {
      const [name = "", value = ""] = rest.split("=");
      args.set(name, value);
    } else if (upper === "FROM") {
      const [image = "", , name] = rest.split(/\s+/);
      const from = image.replace(/^\$\{(\w+)\}$/, (_, arg: string) => args.get(arg) ?? "");
      stages.push({ from, name, steps: [] });
    } else {
      stages.at(-1)?.steps.push({ keyword: upper, args: rest });
    }
  }
  return stages;
}

const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
const stages = dockerfileStages(dockerfile);
const runtime = stages.at(-1) as Stage;
const last = (stage: Stage, keyword: string) =>
  stage.steps.filter((s) => s.keyword === keyword).at(-1)?.args;
/** An exec-form instruction's words; the Dockerfile uses only that form for what it runs. */
const execForm = (args: string | undefined) => JSON.parse(args ?? "null") as string[];
const healthcheck = execForm(last(runtime, "HEALTHCHECK")?.replace(/^.*?CMD\s+/, ""));
const entrypoint = execForm(last(runtime, "ENTRYPOINT"));
const command = execForm(last(runtime, "CMD"));

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
    expect(command).toEqual(["node", "--enable-source-maps", "dist/node/server.js"]);
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
  type Service = {
    image?: string;
    build?: string;
    command?: string[];
    environment?: Record<string, string>;
    depends_on?: Record<string, { condition: string }>;
    healthcheck?: unknown;
  };
  const compose = parse(readFileSync(join(ROOT, "compose.yaml"), "utf8"), { merge: true }) as {
    services: Record<string, Service>;
  };
  const { db, migrate, api } = compose.services;

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
  const env = { NODE_ENV: "production", DATABASE_URL: url.toString(), JWT_SECRET_KEY: SECRET };
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
  const compose = parse(readFileSync(join(ROOT, "compose.yaml"), "utf8"), { merge: true }) as {
    services: { migrate: { command: string[] } };
  };
  return compose.services.migrate.command;
}

function spawnInImage(cwd: string, args: string[], env: Record<string, string>) {
  const child: ChildProcess = spawn(entrypoint[0] as string, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return {
    output: () => output,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** What is missing for building and running the image here, or undefined when nothing is. */
async function containerEngineProblem(): Promise<string | undefined> {
  const docker = (args: string[]) =>
    promisify(execFile)("docker", args, { timeout: 20_000 }).then(
      () => undefined,
      (error: Error & { stderr?: string }) =>
        (error.stderr || error.message).split("\n").find((l) => l.trim()) ?? "failed",
    );
  const noEngine = await docker(["info", "--format", "{{.ServerVersion}}"]);
  if (noEngine) return `no container engine (docker info: ${noEngine.slice(0, 200)})`;
  const noImage = await docker(["image", "inspect", stages[0]?.from ?? ""]);
  if (noImage) return `base image ${stages[0]?.from} is not available locally (no pulls in CI)`;
  return undefined;
}

describe("the image, built and run by a container engine", () => {
  let problem: string | undefined;
  beforeAll(async () => {
    problem = await containerEngineProblem();
    if (problem) console.warn(`Skipping the container build: ${problem}.`);
  });

  it("builds, and its HEALTHCHECK reports healthy against Postgres", async (ctx) => {
    ctx.skip(problem !== undefined, problem);
    const tag = `edge-user-api-test:${Date.now().toString(36)}`;
    const name = `image_run_${Date.now().toString(36)}`;
    const base = new URL(process.env.TEST_DATABASE_URL ?? LOCAL_POSTGRES);
    const url = new URL(base);
    url.pathname = `/${name}`;
    const admin = postgres(base.toString(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE "${name}"`);
    const docker = (args: string[]) => run(ROOT, "docker", args);
    const port = String(await freePort());
    const container = `edge-user-api-test-${process.pid}`;
    try {
      // Host networking for the build too: npm ci reaches the registry even where no bridge exists.
      const built = await docker(["build", "--network", "host", "-t", tag, "."]);
      expect(built.code, built.stderr).toBe(0);
      // Host networking: Postgres is the test's own, on the host's loopback.
      const common = ["--network", "host", "-e", `DATABASE_URL=${url}`];
      const migrated = await docker([
        "run",
        "--rm",
        ...common,
        "-e",
        `JWT_SECRET_KEY=${SECRET}`,
        tag,
        ...migrateCommand(),
      ]);
      expect(migrated.code, migrated.stderr).toBe(0);
      const started = await docker([
        "run",
        "-d",
        "--name",
        container,
        ...common,
        "-e",
        `JWT_SECRET_KEY=${SECRET}`,
        "-e",
        `PORT=${port}`,
        tag,
      ]);
      expect(started.code, started.stderr).toBe(0);
      const deadline = Date.now() + 90_000;
      for (;;) {
        const state = await docker(["inspect", "--format", "{{.State.Health.Status}}", container]);
        if (state.stdout.trim() === "healthy") break;
        expect(Date.now(), (await docker(["logs", container])).stderr).toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 1000));
      }
      const user = await docker(["exec", container, "id", "-u"]);
      expect(user.stdout.trim()).not.toBe("0");
      expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);
    } finally {
      await docker(["rm", "-f", container]);
      await docker(["image", "rm", "-f", tag]);
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  }, 600_000);
});

/** `docker compose` (v2) or `docker-compose` (v1), whichever is installed. */
async function composeCommand(): Promise<string[] | undefined> {
  for (const candidate of [["docker", "compose"], ["docker-compose"]]) {
    const [command = "", ...args] = candidate;
    const found = await run(ROOT, command, [...args, "version"]).catch(() => undefined);
    if (found?.code === 0) return candidate;
  }
  return undefined;
}

describe("compose.yaml, read by Docker Compose", () => {
  let compose: string[] | undefined;
  beforeAll(async () => {
    compose = await composeCommand();
    if (!compose)
      console.warn(
        "Skipping the compose check: neither docker compose nor docker-compose is installed.",
      );
  });

  it("is valid, and refuses to run without a JWT_SECRET_KEY", async (ctx) => {
    ctx.skip(compose === undefined, "no Docker Compose");
    const [command = "", ...args] = compose as string[];
    // An empty --env-file: a .env in this checkout must not supply the key.
    const dir = mkdtempSync(join(tmpdir(), "compose-"));
    const noEnvFile = join(dir, "empty.env");
    writeFileSync(noEnvFile, "");
    const config = (env: Record<string, string>) =>
      run(ROOT, command, [...args, "--env-file", noEnvFile, "config"], env);
    try {
      const valid = await config({ JWT_SECRET_KEY: SECRET });
      expect(valid.code, valid.stderr).toBe(0);
      expect(valid.stdout).toContain("condition: service_completed_successfully");
      const refused = await config({});
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain(
        "set JWT_SECRET_KEY (at least 32 random characters) in the shell or in .env",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
