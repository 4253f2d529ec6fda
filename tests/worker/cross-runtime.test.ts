import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeArgon2 } from "../../src/node/argon2";
import { login, rowOf } from "../support/auth-helpers";
import type { NodeTestApi } from "../support/node-api";
import { createTestApi } from "../support/node-api";
import { createWorkerApi } from "../support/worker-api";

const PHC_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$";
const root = fileURLToPath(new URL("../..", import.meta.url));

// The Worker and the Node app (native argon2) over one database: hashes must cross both ways.
let worker: Awaited<ReturnType<typeof createWorkerApi>>;
let node: NodeTestApi;
beforeAll(async () => {
  worker = await createWorkerApi();
  node = await createTestApi({ database: worker.database, hasher: nodeArgon2 });
});
// The Worker's close drops the shared database.
afterAll(() => worker.close());

describe("password hashes are interchangeable between Node and the Worker", () => {
  it.each([
    ["an ASCII password", "correct horse battery staple"],
    ["a non-ASCII password", "Grüße aus Zürich 🔑 2026"],
  ])("a user registered on Node logs in through the Worker (%s)", async (_label, password) => {
    const user = await node.createUser({ password });
    expect((await rowOf(node, user.username)).passwordHash.startsWith(PHC_PREFIX)).toBe(true);

    expect((await login(worker, user.username, password)).status).toBe(200);
    expect((await login(worker, user.username, `${password}!`)).status).toBe(401);
  });

  it.each([
    ["an ASCII password", "correct horse battery staple"],
    ["a non-ASCII password", "Grüße aus Zürich 🔑 2026"],
  ])("a user registered through the Worker logs in on Node (%s)", async (_label, password) => {
    const user = await worker.createUser({ password });
    const row = await rowOf(worker, user.username);
    expect(row.passwordHash.startsWith(PHC_PREFIX), row.passwordHash).toBe(true);

    expect((await login(node, user.username, password)).status).toBe(200);
    expect((await login(node, user.username, `${password}!`)).status).toBe(401);
  });

  it("an ADMIN created by `npm run db:seed-admin` logs in through the Worker", async () => {
    const password = "Seeded admin pässword 42";
    const { stdout } = await promisify(execFile)("npm", ["run", "db:seed-admin"], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: worker.database.url,
        ADMIN_USERNAME: "seeded_admin",
        ADMIN_EMAIL: "seeded_admin@example.com",
        ADMIN_PASSWORD: password,
      },
    });
    expect(stdout).toContain('Created ADMIN "seeded_admin"');

    const res = await login(worker, "seeded_admin", password);
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as { access_token: string };
    const self = await worker.send("GET", "/api/user/seeded_admin", undefined, access_token);
    expect(await self.json()).toMatchObject({ username: "seeded_admin", role: "ADMIN" });
  });
});
