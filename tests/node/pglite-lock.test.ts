import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { LOCK_FILE, LOCK_REFRESH_MS, LOCK_STALE_MS } from "../../src/node/directory-lock";
import { type NodeServer, runNode, startNodeServer } from "../support/node-server";
import { appFreeEnv, freePort, runCommand } from "../support/processes";
import { testEnv } from "../support/test-env";

// Without a lock, two processes on one PGLITE_DIR each saw only their own writes, and lost them.
const dir = mkdtempSync(join(tmpdir(), "pglite-lock-"));
const lockFile = join(dir, LOCK_FILE);
/** Inside the lock: who holds it; its modification time is the holder's last refresh. */
const ownerFile = join(lockFile, "owner");
const ADMIN = { ADMIN_USERNAME: "lock_admin", ADMIN_PASSWORD: "a long admin passphrase" };
let server: NodeServer | undefined;
afterAll(async () => {
  await server?.stop("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** `npm run <script>` on the embedded database in `dir`, to its end; `wrap` runs it inside another command. */
async function npmRun(script: string, env: Record<string, string> = {}, wrap: string[] = []) {
  const [command = "npm", ...args] = [...wrap, "npm", "run", "--silent", script];
  const run = runCommand(command, args, appFreeEnv(testEnv({ PGLITE_DIR: dir, ...env })));
  return { code: await run.exited, stdout: run.stdout(), stderr: run.stderr() };
}

/** In a PID namespace of its own, as in another container: no process outside it is visible. */
const OTHER_PID_NAMESPACE = ["unshare", "--pid", "--fork", "--mount-proc"];

/** What 20 s without a refresh leaves: the lock's time set back past LOCK_STALE_MS. */
function ageLock() {
  const then = new Date(Date.now() - LOCK_STALE_MS - 1000);
  utimesSync(ownerFile, then, then);
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
  it("while the server runs, a second server, db:seed-admin, db:migrate and db:prune are refused, naming the directory and the server's process", async () => {
    server = await startNodeServer(testEnv({ PGLITE_DIR: dir }));
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
    const [seed, migrate, prune, secondCode] = await Promise.all([
      npmRun("db:seed-admin", ADMIN),
      npmRun("db:migrate"),
      npmRun("db:prune"),
      // A second server that started anyway would never exit by itself.
      Promise.race([second.exited, sleep(60_000).then(() => "still running")]),
    ]).finally(() => second.child.kill("SIGKILL"));
    expect(secondCode).toBe(1);
    expect(second.stderr()).toContain(refusal);
    expect(seed.code).not.toBe(0);
    expect(seed.stderr).toContain(refusal);
    expect(seed.stderr).toContain(`A lock not refreshed for ${LOCK_STALE_MS / 1000} s`);
    expect(seed.stdout).not.toContain("Created ADMIN");
    expect(migrate.code).not.toBe(0);
    expect(migrate.stderr).toContain(refusal);
    expect(prune.code).not.toBe(0);
    expect(prune.stderr).toContain(refusal);
    expect(prune.stdout).not.toContain("Pruned");

    // The running server is untouched: its account logs in, and no admin was made behind it.
    expect(await login(user.username, user.password)).toBe(200);
    expect(await login(ADMIN.ADMIN_USERNAME, ADMIN.ADMIN_PASSWORD)).toBe(401);
  });

  it("an opener in another PID namespace (another container on the volume) is refused too, and the server's lock stays in place", async () => {
    const lockBefore = readFileSync(ownerFile, "utf8");
    // It cannot see the server's process: a lock that trusted process ids called the holder dead.
    const seed = await npmRun("db:seed-admin", ADMIN, OTHER_PID_NAMESPACE);
    expect(seed.code).not.toBe(0);
    expect(seed.stderr).toContain(`PGLITE_DIR ${dir} is in use by process ${server?.pid}`);
    expect(seed.stdout).not.toContain("Created ADMIN");
    expect(readFileSync(ownerFile, "utf8")).toBe(lockBefore);
    expect(await login(user.username, user.password)).toBe(200);
    expect(await login(ADMIN.ADMIN_USERNAME, ADMIN.ADMIN_PASSWORD)).toBe(401);
  });

  it(`the server refreshes its lock every ${LOCK_REFRESH_MS / 1000} s`, async () => {
    const before = statSync(ownerFile).mtimeMs;
    await sleep(LOCK_REFRESH_MS + 1000);
    expect(statSync(ownerFile).mtimeMs).toBeGreaterThan(before);
  });

  it("once the server has exited, the lock is gone and the next opener works on the same data", async () => {
    expect(await server?.stop()).toBe(0);
    expect(existsSync(lockFile)).toBe(false);

    const seed = await npmRun("db:seed-admin", ADMIN);
    expect(seed.code, seed.stderr).toBe(0);
    expect(seed.stdout).toContain('Created ADMIN "lock_admin"');
    expect(existsSync(lockFile)).toBe(false);

    server = await startNodeServer(testEnv({ PGLITE_DIR: dir }));
    expect(await login(ADMIN.ADMIN_USERNAME, ADMIN.ADMIN_PASSWORD)).toBe(200);
    expect(await login(user.username, user.password)).toBe(200);
  });

  it(`the lock of a server that crashed is refused while fresh, and taken over once ${LOCK_STALE_MS / 1000} s old`, async () => {
    const crashed = server?.pid;
    expect(await server?.stop("SIGKILL")).toBe(null);
    expect(existsSync(ownerFile)).toBe(true);

    const early = await npmRun("db:seed-admin", ADMIN);
    expect(early.code).not.toBe(0);
    expect(early.stderr).toMatch(
      new RegExp(`PGLITE_DIR ${dir} is in use by process ${crashed} on .*, refreshed \\d+ s ago`),
    );

    ageLock();
    const seed = await npmRun("db:seed-admin", ADMIN, OTHER_PID_NAMESPACE);
    expect(seed.code, seed.stderr).toBe(0);
    expect(seed.stdout).toContain('Account "lock_admin" already exists.');
    expect(existsSync(lockFile)).toBe(false);
  });

  it("a server whose lock was taken over while it stood still stops at once", async () => {
    server = await startNodeServer(testEnv({ PGLITE_DIR: dir }));
    // Paused (as a frozen container) past the threshold: its lock looks abandoned.
    server.child.kill("SIGSTOP");
    try {
      ageLock();
      const seed = await npmRun("db:seed-admin", ADMIN);
      expect(seed.code, seed.stderr).toBe(0);
    } finally {
      server.child.kill("SIGCONT");
    }
    const code = await Promise.race([server.exited, sleep(LOCK_REFRESH_MS + 5000)]);
    expect(code).toBe(1);
    expect(server.stderr()).toContain(
      `PGLITE_DIR ${dir}: its lock ${lockFile} was taken over or removed by another process`,
    );
  });

  it("a lock file left by an earlier version is refused, with what to do", async () => {
    writeFileSync(lockFile, "12345\n");
    const seed = await npmRun("db:seed-admin", ADMIN);
    expect(seed.code).not.toBe(0);
    expect(seed.stderr).toContain(`PGLITE_DIR ${dir} is in use by an earlier version of this app`);
    expect(readFileSync(lockFile, "utf8")).toBe("12345\n");
    rmSync(lockFile);
  });
});
