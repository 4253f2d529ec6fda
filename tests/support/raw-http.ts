import net from "node:net";

/** A response as it came over the wire (bodies with Content-Length, the only kind this API sends). */
export type RawResponse = { status: number; headers: Record<string, string>; body: string };

/**
 * One HTTP/1.1 connection driven by hand, so a test sees what the server does with the connection
 * itself: which requests it answers on it, and how it closes it.
 */
export async function rawConnection(url: URL) {
  const socket = net.connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let received = Buffer.alloc(0);
  /** How the connection ended, in order: "end" (the server's FIN), "error:<code>", "close". */
  const endings: string[] = [];
  let wake = () => {};
  socket.on("data", (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    wake();
  });
  socket.on("end", () => {
    endings.push("end");
    wake();
  });
  socket.on("error", (error: NodeJS.ErrnoException) => {
    endings.push(`error:${error.code}`);
    wake();
  });
  const closed = new Promise<string[]>((resolve) =>
    socket.once("close", () => {
      endings.push("close");
      wake();
      resolve(endings);
    }),
  );

  /** The next complete response, or an error naming how the connection ended instead. */
  async function response(timeoutMs = 15_000): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = parseResponse(received);
      if (parsed) {
        received = received.subarray(parsed.length);
        return parsed.response;
      }
      if (endings.includes("close")) {
        throw new Error(`connection closed before a response (${endings.join(", ")})`);
      }
      if (Date.now() > deadline) throw new Error("no response in time");
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  return {
    /** Writes bytes as they are; resolves once they are handed to the kernel (or the socket failed). */
    write: (data: string | Uint8Array) =>
      new Promise<void>((resolve) => {
        if (socket.destroyed) return resolve();
        socket.write(data, () => resolve());
      }),
    response,
    /** Resolves when the connection is closed, with how it ended (see `endings`). */
    closed,
    isClosed: () => socket.destroyed,
    destroy: () => socket.destroy(),
  };
}

export type RawConnection = Awaited<ReturnType<typeof rawConnection>>;

/** A request's bytes: `body` with its Content-Length, or chunked when `chunked` is set. */
export function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Uint8Array | string,
  options: { chunked?: boolean } = {},
): Buffer {
  const bytes = typeof body === "string" ? Buffer.from(body) : Buffer.from(body ?? []);
  const lines = [`${method} ${path} HTTP/1.1`, "Host: localhost"];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body === undefined) return Buffer.from(`${lines.join("\r\n")}\r\n\r\n`);
  if (!options.chunked) {
    lines.push(`Content-Length: ${bytes.length}`);
    return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`), bytes]);
  }
  lines.push("Transfer-Encoding: chunked");
  const parts = [Buffer.from(`${lines.join("\r\n")}\r\n\r\n`)];
  for (let i = 0; i < bytes.length; i += 16 * 1024) {
    const chunk = bytes.subarray(i, i + 16 * 1024);
    parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n"));
  }
  parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
}

function parseResponse(data: Buffer): { response: RawResponse; length: number } | undefined {
  const headEnd = data.indexOf("\r\n\r\n");
  if (headEnd < 0) return undefined;
  const [statusLine = "", ...headerLines] = data
    .subarray(0, headEnd)
    .toString("latin1")
    .split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const bodyLength = Number(headers["content-length"] ?? 0);
  const length = headEnd + 4 + bodyLength;
  if (data.length < length) return undefined;
  const status = Number(statusLine.split(" ")[1]);
  return {
    response: { status, headers, body: data.subarray(headEnd + 4, length).toString() },
    length,
  };
}
