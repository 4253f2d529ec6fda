import { setTimeout as sleep } from "node:timers/promises";
import { expect, it } from "vitest";
import type { Database } from "../../src/db/database";
import { payloadTooLarge } from "../../src/errors";
import { findByUsername } from "../../src/users/user.store";
import { type RawConnection, rawConnection, rawRequest } from "./raw-http";

/** What the refused-upload tests need of a running server. */
export type ServerUnderTest = { url: URL; db: Database };

const JSON_TYPE = { "Content-Type": "application/json" };

/**
 * A client keeps a keep-alive connection in its pool and reuses it later: longer than the
 * 500 ms @hono/node-server spent draining an unread body before destroying the connection.
 */
export const REUSE_AFTER_MS = 1000;

let counter = 0;
export function registration() {
  const username = `up${++counter}_${Math.random().toString(36).slice(2, 8)}`;
  const body = {
    username,
    first_name: "Ada",
    last_name: "Lovelace",
    email: `${username}@example.com`,
    password: "correct horse battery",
  };
  return {
    username,
    bytes: rawRequest("POST", "/api/user/register", JSON_TYPE, JSON.stringify(body)),
  };
}

/** A registration body padded with spaces (still valid JSON) to `bytes` bytes. */
export function oversizedRegistration(bytes: number) {
  const { username } = registration();
  const body = JSON.stringify({
    username,
    first_name: "A",
    last_name: "B",
    email: `${username}@example.com`,
    password: "correct horse battery",
  });
  return { username, body: `${body}${" ".repeat(bytes - body.length)}` };
}

/** Sends a register on `connection` and checks it ran: 201 and the row exists. */
export async function registerRuns(connection: RawConnection, db: Database) {
  const { username, bytes } = registration();
  await connection.write(bytes);
  const res = await connection.response();
  expect(res.status, res.body).toBe(201);
  expect(await findByUsername(db, username)).toBeDefined();
}

/** Asserts a 413 with the error table's body, and that the refused account was not created. */
export async function expectRefused(
  res: { status: number; body: string },
  db: Database,
  username: string,
) {
  expect(res.status).toBe(413);
  expect(JSON.parse(res.body)).toEqual(payloadTooLarge().body);
  expect(await findByUsername(db, username)).toBeUndefined();
}

/**
 * The cases every runtime passes: an oversized body up to 1 MiB is read to its end and refused,
 * and the same keep-alive connection carries the next request, even one sent a while later.
 */
export function oversizedBodiesKeepTheConnection(server: () => ServerUnderTest) {
  it.each([
    ["with Content-Length", false],
    ["streamed (chunked)", true],
  ])(
    "after a 413 for a 300 KiB body sent %s, a register sent later on the same connection runs",
    async (_label, chunked) => {
      const { url, db } = server();
      const connection = await rawConnection(url);
      try {
        const { username, body } = oversizedRegistration(300 * 1024);
        await connection.write(
          rawRequest("POST", "/api/user/register", JSON_TYPE, body, { chunked }),
        );
        const refused = await connection.response();
        await expectRefused(refused, db, username);
        expect(refused.headers.connection ?? "keep-alive").toBe("keep-alive");
        await sleep(REUSE_AFTER_MS);
        expect(connection.isClosed()).toBe(false);
        await registerRuns(connection, db);
      } finally {
        connection.destroy();
      }
    },
  );
}
