import { randomBytes } from "node:crypto";
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { newSigningKey } from "../support/jwk-helpers";
import { type NodeServer, spawnNodeServer, startNodeServer } from "../support/node-server";
import { freePort } from "../support/processes";
import { expectRateLimited } from "../support/session-helpers";
import { testEnv } from "../support/test-env";

// The Node server as `npm start` runs it, in its own process, reached over real sockets.

const INVALID_CREDENTIALS = { msg: "Invalid username or password.", code: "UNAUTHORIZED" };

describe("per-IP limits on the Node server key clients by their socket address", () => {
  let database: TestDatabase;
  let server: NodeServer;
  beforeAll(async () => {
    database = await createTestDatabase({ needsServer: true });
    server = await startNodeServer(
      testEnv({ DATABASE_URL: database.url as string, RATE_LIMIT_LOGIN: "2/86400" }),
    );
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  let counter = 0;
  /** A failed login (a name of its own: no lockout) sent from `localAddress`, over a new socket. */
  function loginFrom(localAddress: string, headers: Record<string, string> = {}) {
    const body = JSON.stringify({ username: `nobody_${++counter}`, password: "wrong password" });
    return new Promise<Response>((resolve, reject) => {
      const req = http.request(
        new URL("/api/user/login", server.url),
        {
          method: "POST",
          localAddress,
          agent: false,
          headers: { "content-type": "application/json", ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const headers = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (typeof value === "string") headers.set(name, value);
            }
            resolve(new Response(Buffer.concat(chunks), { status: res.statusCode, headers }));
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  const expectUnauthorized = async (res: Response) => {
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(INVALID_CREDENTIALS);
  };

  it("127.0.0.2 spends its own budget; 127.0.0.3 still has all of its own", async () => {
    await expectUnauthorized(await loginFrom("127.0.0.2"));
    await expectUnauthorized(await loginFrom("127.0.0.2"));
    await expectRateLimited(await loginFrom("127.0.0.2"));
    // Without TRUST_PROXY a forwarding header the client wrote changes nothing.
    await expectRateLimited(await loginFrom("127.0.0.2", { "x-forwarded-for": "203.0.113.9" }));

    await expectUnauthorized(await loginFrom("127.0.0.3"));
    await expectUnauthorized(await loginFrom("127.0.0.3"));
    await expectRateLimited(await loginFrom("127.0.0.3"));
  });
});

describe("the Node server's configuration at start-up", () => {
  it("refuses EXPOSE_RESET_TOKEN=true with NODE_ENV=production, naming it, and never listens", async () => {
    const { exited, output, child } = spawnNodeServer({
      NODE_ENV: "production",
      JWT_SECRET_KEY: randomBytes(32).toString("base64url"),
      EXPOSE_RESET_TOKEN: "true",
      // Never reached: the configuration is refused first.
      DATABASE_URL: "postgres://postgres@127.0.0.1:1/unused",
      PORT: String(await freePort()),
    });
    const code = await Promise.race([exited, sleep(20_000).then(() => "still running")]);
    if (code === "still running") child.kill("SIGKILL");
    expect(code).toBe(1);
    expect(output()).toMatch(
      /^ {2}EXPOSE_RESET_TOKEN: must not be enabled when NODE_ENV=production$/m,
    );
    expect(output()).not.toContain("User API on");
  });

  it("refuses a JWT_SIGNING_KEYS whose key pair is broken, naming it, never quoting the key", async () => {
    const [good, other] = [newSigningKey("good"), newSigningKey("other")];
    const { exited, output, child } = spawnNodeServer({
      NODE_ENV: "production",
      JWT_SECRET_KEY: randomBytes(32).toString("base64url"),
      JWT_SIGNING_KEYS: JSON.stringify([good, { ...other, x: good.x }]),
      DATABASE_URL: "postgres://postgres@127.0.0.1:1/unused",
      PORT: String(await freePort()),
    });
    const code = await Promise.race([exited, sleep(20_000).then(() => "still running")]);
    if (code === "still running") child.kill("SIGKILL");
    expect(code).toBe(1);
    expect(output()).toMatch(/^ {2}JWT_SIGNING_KEYS\.1\.x: is not the public key of d/m);
    for (const secret of [good.d, other.d]) expect(output()).not.toContain(secret);
    expect(output()).not.toContain("User API on");
  });
});
