import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { LOCK_FILE } from "../../src/node/directory-lock";
import {
  freePort,
  runCommand,
  runNode,
  type ServerProcess,
  startServerProcess,
} from "../support/server-process";
import { testEnv } from "../support/test-env";

// Without a lock, two processes on one PGLITE_DIR each saw only their own writes, and lost them.
const dir = mkdtempSync(join(tmpdir(), "pglite-lock-"));
const lockFile = join(dir, LOCK_FILE);
const ADMIN = { ADMIN_USERNAME: "lock_admin", ADMIN_PASSWORD: "a long admin passphrase" };
let server: ServerProcess | undefined;
afterAll(async () => {
  await server?.stop("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** `npm run <script>` on the embedded database in `dir`, to its end. */
async function npmRun(script: string, env: Record<string, string> = {}) {
  const run = runCommand("npm", ["run", "--silent", script], testEnv({ PGLITE_DIR: dir, ...env }));
  return { code: await run.exited, stdout: run.stdout(), stderr: run.stderr() };
}

const post = (path: string, body: unknown) =>
  fetch(new URL(path, server?.url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

const login = (username: string, password: string) =>
  post("/api/user/login", { username, password }).then((res) => res.status);

const user = { username: "lock_user", password: "the user's own passphrase" };

// Each step starts processes that open (or create) an embedded database: seconds each.
describe("one process at a time on PGLITE_DIR", { timeout: 120_000 }, () => {
  it("while the server runs, a second server, seed:admin and db:migrate are refused, naming the directory and the server's process", async () => {
    server = await startServerProcess({ PGLITE_DIR: dir });
    const refusal = `PGLITE_DIR ${dir} is in use by process ${server.pid}`;
    const register = await post("/api/user/register", {
      ...user,
      first_name: "Lock",
      last_name: "User",
      email: "lock_user@example.com",
    });
    expect(register.status).toBe(201);

    const second = runNode(
      ["scripts/start.mjs"],
      testEnv({ PGLITE_DIR: dir, PORT: String(await freePort()) }),
    );
    const [seed, migrate, secondCode] = await Promise.all([
      npmRun("seed:admin", ADMIN),
      npmRun("db:migrate"),
      // A second server that started anyway would never exit by itself.
      Promise.race([second.exited, sleep(60_000).then(() => "still running")]),
    ]).finally(() => second.child.kill("SIGKILL"));
    expect(secondCode).toBe(1);
    expect(second.stderr()).toContain(refusal);
    expect(seed.code).not.toBe(0);
    expect(seed.stderr).toContain(refusal);
    expect(seed.stdout).not.toContain("Created ADMIN");
    expect(migrate.code).not.toBe(0);
    expect(migrate.stderr).toContain(refusal);

    // The running server is untouched: its account logs in, and no admin was made behind it.
    expect(await login(user.username, user.password)).toBe(200);
    expect(await login(ADMIN.ADMIN_USERNAME, ADMIN.ADMIN_PASSWORD)).toBe(401);
  });

  it("once the server has exited, the lock is gone and the next opener works on the same data", async () => {
    expect(await server?.stop()).toBe(0);
    expect(existsSync(lockFile)).toBe(false);

    const seed = await npmRun("seed:admin", ADMIN);
    expect(seed.code, seed.stderr).toBe(0);
    expect(seed.stdout).toContain('Created ADMIN "lock_admin"');
    expect(existsSync(lockFile)).toBe(false);

    server = await startServerProcess({ PGLITE_DIR: dir });
    expect(await login(ADMIN.ADMIN_USERNAME, ADMIN.ADMIN_PASSWORD)).toBe(200);
    expect(await login(user.username, user.password)).toBe(200);
    expect(await server.stop()).toBe(0);
  });

  it("a lock left by a process that is gone is taken over", async () => {
    const gone = runNode(["-e", ""], {});
    await gone.exited;
    writeFileSync(lockFile, `${gone.pid}\n`);

    const seed = await npmRun("seed:admin", ADMIN);
    expect(seed.code, seed.stderr).toBe(0);
    expect(seed.stdout).toContain('Account "lock_admin" already exists.');
    expect(existsSync(lockFile)).toBe(false);
  });
});
