import {
  type DocumentedOperation,
  documentedResponse,
  type responseValidator,
} from "./openapi-document";

/** An answer to a fuzzed request, and what was sent (JSON bodies with their values filled in). */
export type Answer = { res: Response; body: unknown; sent: unknown; bodiless: boolean };

/** What is wrong with an answer, by the document and the contract's conventions. */
export function problemsWith(
  op: DocumentedOperation,
  { res, body, bodiless }: Answer,
  validate: ReturnType<typeof responseValidator>,
) {
  const problems: string[] = [];
  const { status } = res;
  const code = (body as { code?: string } | undefined)?.code;
  if (status >= 500 && !(status === 503 && code === "SERVICE_UNAVAILABLE")) {
    problems.push(`${status} is a server error`);
  }
  const documented = documentedResponse(op.operation, status);
  if (!documented) {
    problems.push(
      `${status} is not documented (${Object.keys(op.operation.responses).join(", ")})`,
    );
    return problems;
  }
  if (!/^application\/json\b/.test(res.headers.get("content-type") ?? "")) {
    problems.push(`Content-Type ${res.headers.get("content-type")} is not JSON`);
  } else {
    problems.push(...validate(op.operation, status, body));
  }
  // Error responses list their codes in their description ("CODE: meaning; …").
  const codes = [...documented.description.matchAll(/\b([A-Z][A-Z_]+):/g)].map((m) => m[1]);
  if (status >= 400 && codes.length > 0 && !codes.includes(code)) {
    problems.push(`code ${code} is not among ${status}'s documented codes ${codes.join(", ")}`);
  }
  if (!op.body && bodiless && (status === 415 || code === "INVALID_JSON")) {
    problems.push("a request without a body was refused for its Content-Type");
  }
  if (op.path.startsWith("/api/") && res.headers.get("cache-control") !== "no-store") {
    problems.push("an /api answer without Cache-Control: no-store");
  }
  if (status === 401 && !/^Bearer\b/i.test(res.headers.get("www-authenticate") ?? "")) {
    problems.push("401 without WWW-Authenticate: Bearer");
  }
  if ((status === 429 || status === 503) && !/^\d+$/.test(res.headers.get("retry-after") ?? "")) {
    problems.push(`${status} without Retry-After`);
  }
  return problems;
}
