import { setTimeout as sleep } from "node:timers/promises";
import type { MailMessage } from "../../src/mail/mailer";
import { apiClient, checkedResponse } from "./api-client";
import type { ContractApi } from "./contract-api";
import type { TestDatabase } from "./database";
import type { FakeResend } from "./fake-resend";
import { TEST_JWT_SECRET } from "./test-env";

// Mail leaves the server in the background after the response (ctx.waitUntil on Workers, a
// floating promise on Node), so the test cannot await it; it waits until neither the API nor the
// fake Resend has seen traffic for this long.
const MAIL_QUIET_MS = 300;
const MAIL_WAIT_MAX_MS = 5_000;

/**
 * The contract API of a server reached over HTTP at `base` (workerd, the Node entry): requests
 * through Node's fetch (keep-alive, so a connection the server drops fails the test), mail as the
 * fake Resend received it, the server's database read directly. `stop` ends the server.
 */
export function httpContractApi(parts: {
  base: URL;
  database: TestDatabase;
  resend: FakeResend;
  stop(): Promise<unknown>;
  /** Sends each request that has a body on a connection of its own (`Connection: close`). */
  bodyOnOwnConnection?: boolean;
}): ContractApi & { database: TestDatabase } {
  const { base, database, resend } = parts;
  let lastResponseAt = Date.now();
  const send = async (path: string, init: RequestInit = {}) => {
    if (parts.bodyOnOwnConnection && init.body != null) {
      const headers = new Headers(init.headers);
      headers.set("connection", "close");
      init = { ...init, headers };
    }
    // Redirects are part of the contract (GET / → /doc): look at them, as app.request does.
    const res = await fetch(new URL(path, base), { redirect: "manual", ...init });
    lastResponseAt = Date.now();
    return res;
  };
  const client = apiClient(
    async (path, init) => checkedResponse(path, await send(path, init)),
    database.db,
  );

  async function settledMails(): Promise<MailMessage[]> {
    const deadline = Date.now() + MAIL_WAIT_MAX_MS;
    let seen = resend.requests.length;
    let changedAt = Date.now();
    while (Date.now() < deadline) {
      if (resend.requests.length !== seen) {
        seen = resend.requests.length;
        changedAt = Date.now();
      }
      if (Date.now() - Math.max(changedAt, lastResponseAt) >= MAIL_QUIET_MS) break;
      await sleep(20);
    }
    return resend.emails().map(({ body }) => {
      const { to, subject, text, html } = body as MailMessage & { to: string | string[] };
      return { to: Array.isArray(to) ? to.join(",") : to, subject, text, html };
    });
  }

  return {
    ...client,
    unchecked: send,
    baseUrl: async () => base.origin,
    db: database.db,
    database,
    jwtSecret: TEST_JWT_SECRET,
    // Another process on this machine: the system clock.
    now: () => new Date(),
    async mailsTo(address) {
      return (await settledMails()).filter((m) => m.to === address);
    },
    async close() {
      await parts.stop();
      await resend.close();
      await database.drop();
    },
  };
}
