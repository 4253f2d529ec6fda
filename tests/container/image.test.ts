import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envSchema } from "../../src/config";
import { LOCAL_POSTGRES } from "../support/database";
import {
  type ComposeService,
  command,
  composeServices,
  last,
  runtime,
} from "../support/dockerfile";
import { freePort, ROOT } from "../support/processes";
import { run } from "../support/project-dir";

// The image as `docker build .` makes it, run against this host's Postgres with host networking.
// `npm run test:container` (scripts/test-container.sh) starts an engine and makes a base image
// where none is pulled; without an engine this file fails, saying so: it is never skipped.

const SECRET = "container-test-secret-0123456789abcdef";
const MFA_KEY = "bWZhLWtleS1mb3ItdGhlLWNvbnRhaW5lci10ZXN0cyE=";
/** A base image for the Dockerfile's NODE_IMAGE, or its own default (pulled by the engine). */
const NODE_IMAGE = process.env.CONTAINER_NODE_IMAGE;
const id = `${process.pid}-${Date.now().toString(36)}`;
const tag = `edge-user-api-test:${id}`;
const docker = (args: string[], env: Record<string, string> = {}) => run(ROOT, "docker", args, env);
const firstLine = (text: string) => text.split("\n").find((l) => l.trim()) ?? "";

const name = `image_${id.replace("-", "_")}`;
const base = new URL(process.env.TEST_DATABASE_URL ?? LOCAL_POSTGRES);
const databaseUrl = Object.assign(new URL(base), { pathname: `/${name}` }).toString();
const admin = postgres(base.toString(), { max: 1, onnotice: () => {} });

let compose: string[] = [];
/** `docker compose config` (v2) or `docker-compose config` (v1) with only `env` set. */
async function composeConfig(env: Record<string, string>) {
  // An empty --env-file: a .env in this checkout must not supply the key.
  const dir = mkdtempSync(join(tmpdir(), "compose-"));
  writeFileSync(join(dir, "empty.env"), "");
  const [cmd = "", ...args] = compose;
  try {
    return await run(ROOT, cmd, [...args, "--env-file", join(dir, "empty.env"), "config"], env);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** compose.yaml's services with every variable resolved, JWT_SECRET_KEY set. */
async function resolvedServices() {
  const config = await composeConfig({ JWT_SECRET_KEY: SECRET, MFA_ENCRYPTION_KEY: MFA_KEY });
  expect(config.code, config.stderr).toBe(0);
  return composeServices(config.stdout);
}

beforeAll(async () => {
  const engine = await docker(["info", "--format", "{{.ServerVersion}}"]);
  if (engine.code !== 0)
    throw new Error(
      `No container engine (docker info: ${firstLine(engine.stderr)}). ` +
        "npm run test:container starts dockerd where it is installed.",
    );
  for (const candidate of [["docker", "compose"], ["docker-compose"]]) {
    const [cmd = "", ...args] = candidate;
    const found = await run(ROOT, cmd, [...args, "version"]).catch(() => undefined);
    if (found?.code === 0) compose = candidate;
    if (found?.code === 0) break;
  }
  if (compose.length === 0) throw new Error("Neither docker compose nor docker-compose runs here.");

  // Host networking for the build: npm ci reaches the registry even where no bridge exists.
  const baseArg = NODE_IMAGE ? ["--build-arg", `NODE_IMAGE=${NODE_IMAGE}`] : [];
  const built = await docker(["build", "--network", "host", ...baseArg, "-t", tag, "."]);
  expect(built.code, built.stderr || built.stdout).toBe(0);
  await admin.unsafe(`CREATE DATABASE "${name}"`);
}, 600_000);

afterAll(async () => {
  await docker(["image", "rm", "-f", tag]);
  await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
});

describe("the image", () => {
  it("runs as the Dockerfile's non-root user, in production", async () => {
    const config = await docker(["image", "inspect", "--format", "{{json .Config}}", tag]);
    const { User, Env } = JSON.parse(config.stdout) as { User: string; Env: string[] };
    expect(User).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
    expect(User).toBe(last(runtime, "USER"));
    expect(Env).toContain("NODE_ENV=production");
    const uid = await docker(["run", "--rm", "-e", "DATABASE_URL=x", tag, "id", "-u"]);
    expect(uid.stdout.trim()).toBe("1000");
  });

  it("refuses to start without DATABASE_URL", async () => {
    const refused = await docker(["run", "--rm", "-e", `JWT_SECRET_KEY=${SECRET}`, tag]);
    expect(refused.code).toBe(64);
    expect(refused.stderr).toBe(
      "DATABASE_URL is required in the container: postgres://user:password@host:5432/database\n",
    );
  });

  it("runs compose's migrations, then serves as compose's api: healthy, register, login, read", async () => {
    const { migrate, api } = await resolvedServices();
    // compose's database is its own `db` service; here it is this host's Postgres.
    const env = (service?: ComposeService) =>
      Object.entries({ ...service?.environment, DATABASE_URL: databaseUrl }).flatMap(([k, v]) => [
        "-e",
        `${k}=${v ?? ""}`,
      ]);
    const migrated = await docker([
      "run",
      "--rm",
      "--network",
      "host",
      ...env(migrate),
      tag,
      ...(migrate?.command ?? []),
    ]);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toBe("Migrations applied (DATABASE_URL).\n");

    const port = await freePort();
    const container = `edge-user-api-test-${id}`;
    const started = await docker([
      "run",
      "-d",
      "--name",
      container,
      "--network",
      "host",
      ...env(api),
      "-e",
      `PORT=${port}`,
      tag,
    ]);
    expect(started.code, started.stderr).toBe(0);
    try {
      // The image's own HEALTHCHECK decides: its first probe comes after its interval.
      const deadline = Date.now() + 90_000;
      for (;;) {
        const format = "{{.State.Status}} {{.State.Health.Status}}";
        const state = (await docker(["inspect", "--format", format, container])).stdout.trim();
        if (state === "running healthy") break;
        expect(state, (await docker(["logs", container])).stderr).toBe("running starting");
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 1000));
      }
      // The server itself is PID 1 (the entrypoint execs it, so SIGTERM reaches it), uid 1000.
      const status = await docker(["exec", container, "cat", "/proc/1/status"]);
      expect(status.stdout).toMatch(/^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
      const pid1 = await docker(["exec", container, "cat", "/proc/1/cmdline"]);
      expect(pid1.stdout.split("\0").slice(0, -1)).toEqual(command);

      const url = (path: string) => `http://127.0.0.1:${port}${path}`;
      expect((await fetch(url("/ready"))).status).toBe(200);
      const json = { "content-type": "application/json" };
      const account = {
        username: `box_${id.replace("-", "_")}`,
        first_name: "Con",
        last_name: "Tainer",
        email: `box-${id}@example.com`,
        password: "Sturdy-Image-Password-82!",
      };
      const registered = await fetch(url("/api/user/register"), {
        method: "POST",
        headers: json,
        body: JSON.stringify(account),
      });
      expect(registered.status, await registered.clone().text()).toBe(201);
      const login = await fetch(url("/api/user/login"), {
        method: "POST",
        headers: json,
        body: JSON.stringify({ username: account.username, password: account.password }),
      });
      expect(login.status, await login.clone().text()).toBe(200);
      const { access_token } = (await login.json()) as { access_token: string };
      const read = await fetch(url(`/api/user/${account.username}`), {
        headers: { authorization: `Bearer ${access_token}` },
      });
      expect(read.status).toBe(200);
      expect(await read.json()).toMatchObject({
        username: account.username,
        email: account.email,
        role: "USER",
        active: true,
      });
      const db = postgres(databaseUrl, { max: 1, onnotice: () => {} });
      const rows = await db`SELECT username FROM users WHERE email = ${account.email}`;
      await db.end();
      expect(rows.map((r) => r.username)).toEqual([account.username]);

      // A stop is a clean shutdown, well before the engine's 10 s kill.
      const stopAt = Date.now();
      expect((await docker(["stop", container])).code).toBe(0);
      expect(Date.now() - stopAt).toBeLessThan(8_000);
      const exit = await docker(["inspect", "--format", "{{.State.ExitCode}}", container]);
      expect(exit.stdout.trim()).toBe("0");
    } finally {
      await docker(["rm", "-f", container]);
    }
  }, 180_000);
});

describe("compose.yaml, read by Docker Compose", () => {
  it("is valid, and refuses to run without a JWT_SECRET_KEY", async () => {
    const valid = await composeConfig({ JWT_SECRET_KEY: SECRET, MFA_ENCRYPTION_KEY: MFA_KEY });
    expect(valid.code, valid.stderr).toBe(0);
    expect(valid.stdout).toContain("condition: service_completed_successfully");
    const refused = await composeConfig({});
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      "set JWT_SECRET_KEY (at least 32 random characters) in the shell or in .env",
    );
  });

  it("builds both app services from this Dockerfile, on the port it exposes, with the app's variables", async () => {
    const { migrate, api } = await resolvedServices();
    for (const service of [migrate, api]) {
      const build = service?.build;
      expect(resolve(typeof build === "string" ? build : (build?.context ?? ""))).toBe(
        resolve(ROOT),
      );
      expect(service?.image).toBe(api?.image);
      for (const variable of Object.keys(service?.environment ?? {}))
        expect(Object.keys(envSchema.shape), variable).toContain(variable);
    }
    const exposed = await docker([
      "image",
      "inspect",
      "--format",
      "{{json .Config.ExposedPorts}}",
      tag,
    ]);
    const [port] = (api?.ports ?? []) as { target: number | string }[];
    expect(Object.keys(JSON.parse(exposed.stdout))).toEqual([`${port?.target}/tcp`]);
    // The server's own default, since compose sets no PORT.
    expect(String(envSchema.shape.PORT.parse(undefined))).toBe(String(port?.target));
  });
});
