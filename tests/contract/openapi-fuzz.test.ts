import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { rateLimitedRoutes } from "../../src/config";
import { startApi } from "../support/contract-api";
import { problemsWith } from "../support/fuzz-oracle";
import { type FuzzRequest, requestsFor } from "../support/fuzz-requests";
import { initOf, pathOf } from "../support/fuzz-send";
import { fuzzWorld } from "../support/fuzz-world";
import {
  type DocumentedOperation,
  type OpenApiDocument,
  operationsOf,
  responseValidator,
} from "../support/openapi-document";
import { Repeated } from "../support/schema-arbitraries";

// Fuzzing from the contract itself: every operation of /openapi.json gets generated requests,
// valid and not, and every answer must be one the document promises. FUZZ_RUNS scales the run;
// a failure names the run's FUZZ_SEED, which replays the whole run (the same requests in the
// same order; the server's own randomness, such as token values, still differs).

const inProcess = (process.env.TEST_TARGET ?? "node") === "node";
/**
 * Requests per runtime, spread evenly over the operations: fewer over HTTP (the Worker in workerd,
 * the Node server in its own process), where logins and registrations pay for real argon2.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? (inProcess ? 2000 : 1000));

const api = await startApi({
  env: {
    // Limits stay on but high, so a 429 is rare; the lockout still fires on guessed logins.
    ...Object.fromEntries(rateLimitedRoutes.map((route) => [`RATE_LIMIT_${route}`, "100000/60"])),
    LOGIN_LOCKOUT_THRESHOLD: "20",
    // Reset tokens in the answer let reset_password be fuzzed past "unknown token".
    EXPOSE_RESET_TOKEN: "true",
  },
});
afterAll(() => api.close());
const doc = (await (await api.request("/openapi.json")).json()) as OpenApiDocument;
const operations = operationsOf(doc);
const validate = responseValidator(doc);
const world = await fuzzWorld(api);

const seen = new Map<string, Map<number, number>>();
const short = (v: unknown) => {
  const s = typeof v === "string" ? v : (JSON.stringify(v) ?? "");
  return s.length > 300 ? `${s.slice(0, 300)}… (${s.length} chars)` : s;
};

/** Sends `req` and fails unless the answer is one the document promises; returns the answer. */
async function check(op: DocumentedOperation, req: FuzzRequest) {
  await world.restore();
  const path = pathOf(op, req, world);
  if (path === undefined) return undefined; // `.` or `..` makes it another path, not this operation
  const { init, sent } = await initOf(op, req, world);
  const res = await api.unchecked(path, init);
  const text = await res.text();
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  const counts = seen.get(op.id) ?? new Map<number, number>();
  counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
  seen.set(op.id, counts);
  world.harvest(sent, res.status, body);

  const answer = { res, body, sent, bodiless: init.body === undefined };
  const problems = problemsWith(op, answer, validate);
  if (problems.length === 0) return answer;
  throw new Error(
    [
      `${op.method} ${path} → ${res.status}`,
      ...problems.map((p) => `  - ${p}`),
      `  request headers: ${short(Object.fromEntries(new Headers(init.headers)))}`,
      `  request body: ${short(sent ?? (init.body ? new TextDecoder().decode(init.body) : "(none)"))}`,
      `  response body: ${short(text)}`,
    ].join("\n"),
  );
}

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const runsPerOperation = Math.max(10, Math.round(RUNS / operations.length));

describe("fuzzing every operation of /openapi.json", () => {
  it("finds the operations to fuzz in the document", () => {
    expect(operations.map((op) => op.id)).toEqual(expect.arrayContaining(["login", "getUser"]));
  });

  it.each(operations.map((op, i) => [op.id, op, i] as const))(
    "%s answers only documented statuses and bodies",
    async (_, op, i) => {
      const property = fc.asyncProperty(requestsFor(doc, op), async (req) => {
        await check(op, req);
      });
      try {
        await fc.assert(property, { numRuns: runsPerOperation, seed: (SEED + i) | 0 });
      } catch (error) {
        const replay = `Replay the whole run with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`;
        if (error instanceof Error) error.message = `${replay}\n${error.message}`;
        throw error;
      }
    },
    Math.max(60_000, runsPerOperation * 1000),
  );
});

// What the fuzzer found once, kept as plain examples.
describe("DELETE /api/user/{username} sent a body it does not take", () => {
  const op = operations.find((o) => o.method === "DELETE" && o.path === "/api/user/{username}");

  it.each([
    ["malformed JSON", "application/json", "{nope", 400, "INVALID_JSON"],
    ["a text/plain body", "text/plain", "{}", 415, "UNSUPPORTED_MEDIA_TYPE"],
    [
      "a body over 64 KiB",
      "application/json",
      new Repeated("x", 70_000, '{"a":"', '"}'),
      413,
      "PAYLOAD_TOO_LARGE",
    ],
  ] as const)(
    "%s is refused with a documented error and the account stays",
    async (_, contentType, text, status, code) => {
      if (!op) throw new Error("DELETE /api/user/{username} is not in the document");
      const victim = await api.createUser();
      const answer = await check(op, {
        self: { source: "user", pick: 0 },
        params: { username: { text: victim.username } },
        query: [],
        auth: { kind: "token", as: "admin", variant: "valid" },
        contentType,
        headers: [],
        body: { kind: "text", text },
      });
      expect(answer?.res.status).toBe(status);
      expect(answer?.body).toMatchObject({ code });
      expect(await api.userRow(victim.username)).toBeDefined();
    },
  );
});

afterAll(() => {
  const lines = [...seen].map(
    ([id, counts]) =>
      `  ${id}: ${[...counts]
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${s}×${n}`)
        .join(" ")}`,
  );
  const title = `openapi fuzz (FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}), statuses seen:`;
  console.log([title, ...lines].join("\n"));
});
