import { setTimeout as sleep } from "node:timers/promises";
import { expect, it } from "vitest";
import { findByUsername } from "../../src/users/user.store";
import { type LoggedApi, linesFor } from "./access-log-cases";
import { rawConnection, rawRequest } from "./raw-http";

/**
 * A client that hangs up in the middle of its upload, for any runtime: `api()` is the running
 * API, started with ACCESS_LOG=on. What it sends is a whole register body framed as the start of
 * a longer one (a Content-Length of 1000, or a chunk with no last chunk after it), so a server
 * taking what came for the whole would create the account.
 */
export function abortedUploadCases(api: () => LoggedApi) {
  it.each([
    ["with Content-Length", false],
    ["chunked", true],
  ])(
    "a client that hangs up mid-upload (%s) is logged as 499 (client closed request), never as a database outage, and nothing is written",
    async (_label, chunked) => {
      const tag = Math.random().toString(36).slice(2, 8);
      const requestId = `abort-${tag}`;
      const username = `abort_${tag}`;
      const body = JSON.stringify({
        username,
        first_name: "Cut",
        last_name: "Short",
        email: `${username}@example.com`,
        password: "correct horse battery",
      });
      const head = rawRequest("POST", "/api/user/register", {
        "Content-Type": "application/json",
        "X-Request-Id": requestId,
        ...(chunked ? { "Transfer-Encoding": "chunked" } : { "Content-Length": "1000" }),
      });
      const sent = chunked ? `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n` : body;
      const connection = await rawConnection(api().url);
      await connection.write(Buffer.concat([head, Buffer.from(sent)]));
      // Long enough for the server to have read the head and what came of the body.
      await sleep(200);
      connection.destroy();

      const lines = await linesFor(api(), requestId, 1);
      expect(lines.filter((l) => l.msg === "request")).toEqual([
        expect.objectContaining({ method: "POST", route: "/api/user/register", status: 499 }),
      ]);
      // Anything else the request logs would have come with or before its access-log line.
      expect(lines.filter((l) => l.msg !== "request")).toEqual([]);
      expect(api().logText()).not.toContain("database unavailable");
      expect(await findByUsername(api().db, username)).toBeUndefined();
    },
  );
}
