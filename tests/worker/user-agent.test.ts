import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog } from "../../src/db/schema";
import type { ContractApi } from "../support/contract-api";
import { createNodeHttpApi } from "../support/node-http-api";
import { rawConnection, rawRequest } from "../support/raw-http";
import { createWorkerApi } from "../support/worker-api";

// The same User-Agent bytes sent to the Node server (its own process, over HTTP) and to the Worker
// (workerd): the audit log must keep the same text from both. Node's parser reads header bytes as
// Latin-1, workerd's as UTF-8.
let worker: Awaited<ReturnType<typeof createWorkerApi>>;
let node: Awaited<ReturnType<typeof createNodeHttpApi>>;
beforeAll(async () => {
  [worker, node] = await Promise.all([createWorkerApi(), createNodeHttpApi()]);
});
afterAll(() => Promise.all([worker?.close(), node?.close()]));

let counter = 0;
/** Registers an account with `agent` as the User-Agent's bytes; the agent its audit entry kept. */
async function storedAgent(api: ContractApi, agent: Buffer) {
  const username = `ua${++counter}_${Math.random().toString(36).slice(2, 8)}`;
  const body = JSON.stringify({
    username,
    first_name: "Agent",
    last_name: "Tester",
    email: `${username}@example.com`,
    password: `pw-${username}-secret`,
  });
  const request = rawRequest("POST", "/api/user/register", {
    "Content-Type": "application/json",
    Connection: "close",
  });
  // Written as bytes: fetch would refuse (or re-encode) anything but Latin-1 text.
  const head = Buffer.concat([
    request.subarray(0, request.length - 2),
    Buffer.from("User-Agent: "),
    agent,
    Buffer.from(`\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`),
  ]);
  const connection = await rawConnection(new URL(await api.baseUrl()));
  try {
    await connection.write(head);
    expect((await connection.response()).status).toBe(201);
  } finally {
    connection.destroy();
  }
  const rows = await api.db
    .select({ userAgent: auditLog.userAgent })
    .from(auditLog)
    .where(and(eq(auditLog.targetUsername, username), eq(auditLog.action, "user.registered")));
  expect(rows).toHaveLength(1);
  return rows[0]?.userAgent;
}

const utf8 = (text: string) => Buffer.from(text, "utf8");

describe("the audit log keeps a User-Agent the same on Node and on the Worker", () => {
  it.each([
    [
      "UTF-8 text, a right-to-left override, a line separator and a tab",
      utf8("Agent/1.0 (é 漢字 🔑) \u202egnp.exe\u2028admin\tx"),
      "Agent/1.0 (é 漢字 🔑) \\u202egnp.exe\\u2028admin\\u0009x",
    ],
    [
      "every bidirectional mark and the paragraph separator",
      utf8("a\u202ab\u202bc\u202cd\u202de\u2066f\u2067g\u2068h\u2069i\u200ej\u200fk\u061cl\u2029m"),
      "a\\u202ab\\u202bc\\u202cd\\u202de\\u2066f\\u2067g\\u2068h\\u2069i\\u200ej\\u200fk\\u061cl\\u2029m",
    ],
    ["a backslash, so no escape is the client's", utf8("x\\u202e"), "x\\\\u202e"],
    [
      "bytes that are not UTF-8, as U+FFFD",
      Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0xe2, 0x80, 0x21]),
      "caf\ufffd \ufffd!",
    ],
    ["capped at 512 characters", utf8("é".repeat(600)), "é".repeat(512)],
    [
      "capped before an escape that would not fit",
      utf8(`${"a".repeat(509)}\u202e`),
      "a".repeat(509),
    ],
  ])("%s", async (_label, agent, stored) => {
    expect(await storedAgent(node, agent)).toBe(stored);
    expect(await storedAgent(worker, agent)).toBe(stored);
  });
});
