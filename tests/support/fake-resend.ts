import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** One request the fake received. */
export type RecordedRequest = {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
};

/**
 * What the fake answers; `body` is sent as JSON unless it is a string. With `delayMs` it answers
 * that much later, and a request whose client hung up meanwhile is not recorded (never confirmed).
 */
export type FakeReply = { status: number; body: unknown; delayMs?: number };

/**
 * A local stand-in for the Resend API (POST /emails answers `{id}` like the real one), so the
 * real `resend` SDK can be exercised over HTTP. `reply` changes the next answers; a function
 * builds each from the request (an error that quotes what it was sent).
 */
export async function startFakeResend() {
  const requests: RecordedRequest[] = [];
  let reply: FakeReply | ((request: RecordedRequest) => FakeReply) | undefined;

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: unknown = raw;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      // Keep the raw text: a test will see the SDK sent something that is not JSON.
    }
    const path = req.url ?? "";
    const request = { method: req.method ?? "", path, headers: req.headers, body };
    const delayMs = typeof reply === "object" ? reply.delayMs : undefined;
    if (delayMs) {
      await sleep(delayMs);
      if (req.socket.destroyed) return;
    }
    requests.push(request);

    const answer =
      (typeof reply === "function" ? reply(request) : reply) ??
      (req.method === "POST" && path === "/emails"
        ? { status: 200, body: { id: `fake-email-${requests.length}` } }
        : {
            status: 404,
            body: { statusCode: 404, name: "not_found", message: "Route not found" },
          });
    const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
    res.writeHead(answer.status, {
      "content-type": typeof answer.body === "string" ? "text/plain" : "application/json",
    });
    res.end(text);
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    /** Base URL without a trailing slash, as the SDK appends `/emails`. */
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Requests that sent an email. */
    emails: () => requests.filter((r) => r.method === "POST" && r.path === "/emails"),
    reply(next: FakeReply | ((request: RecordedRequest) => FakeReply) | undefined) {
      reply = next;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

export type FakeResend = Awaited<ReturnType<typeof startFakeResend>>;
