import { request as httpRequest } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { type NodeServer, startNodeServer } from "../support/node-server";
import { TEST_JWT_SECRET } from "../support/test-env";

let database: TestDatabase;
let server: NodeServer;
beforeAll(async () => {
  database = await createTestDatabase({ needsServer: true });
  // `npm start` on a port of its own, without APP_URL, mail printed by the console mailer.
  server = await startNodeServer({
    DATABASE_URL: database.url as string,
    JWT_SECRET_KEY: TEST_JWT_SECRET,
    RESET_EMAIL_INTERVAL: "0",
  });
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

/** POSTs JSON over HTTP with the Host header the client chooses (fetch would not send it). */
function postJson(path: string, body: unknown, host: string) {
  const url = new URL(path, server.url);
  return new Promise<number>((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: "POST", headers: { host, "content-type": "application/json" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

/** The reset links the console mailer has printed so far. */
const printedLinks = () =>
  [...server.output().matchAll(/^(https?:\/\/\S*reset\S*)$/gm)].map((m) => m[1]);

describe("the reset link of `npm start` without APP_URL", () => {
  it("opens this server's /reset-password on the port it listens on, whatever Host the client sent", async () => {
    const port = new URL(server.url).port;
    const user = { username: "linked_user", email: "linked_user@example.com" };
    const register = {
      ...user,
      first_name: "Link",
      last_name: "User",
      password: "a fine passphrase",
    };
    expect(await postJson("/api/user/register", register, `127.0.0.1:${port}`)).toBe(201);
    // A forged Host must not become the link's address: the mail would hand the token to it.
    expect(await postJson("/api/user/forget_password", user, "attacker.example")).toBe(200);

    for (let i = 0; i < 100 && printedLinks().length === 0; i++) await sleep(50);
    const links = printedLinks();
    expect(links).toEqual([
      expect.stringMatching(
        new RegExp(`^http://localhost:${port}/reset-password\\?token=[\\w-]{43,}$`),
      ),
    ]);

    const page = await fetch(links[0] as string);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form id="reset-form"');
  });

  it("the verification link opens this server's /verify-email likewise, whatever Host registered", async () => {
    const port = new URL(server.url).port;
    const register = {
      username: "verified_link",
      email: "verified_link@example.com",
      first_name: "Link",
      last_name: "User",
      password: "a fine passphrase",
    };
    expect(await postJson("/api/user/register", register, "attacker.example")).toBe(201);
    const verifyLinks = () =>
      [...server.output().matchAll(/^(https?:\/\/\S*verify-email\S*)$/gm)].map((m) => m[1]);
    for (let i = 0; i < 100 && verifyLinks().length < 2; i++) await sleep(50);
    const links = verifyLinks();
    expect(links.at(-1)).toMatch(
      new RegExp(`^http://localhost:${port}/verify-email\\?token=[\\w-]{43,}$`),
    );
    expect(server.output()).not.toContain("attacker.example");
    const page = await fetch(links.at(-1) as string);
    expect(await page.text()).toContain('<form id="verify-form"');
  });

  it("serves the pages' files from the compiled server (swagger-ui-dist and public/assets)", async () => {
    for (const file of [
      "swagger-ui-dist/swagger-ui-bundle.js",
      "swagger-ui-dist/swagger-ui.css",
      "reset-password.js",
    ]) {
      const res = await fetch(new URL(`/assets/${file}`, server.url));
      expect(res.status, file).toBe(200);
      expect((await res.arrayBuffer()).byteLength, file).toBeGreaterThan(100);
    }
  });
});
