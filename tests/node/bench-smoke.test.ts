import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import type { BenchReport } from "../../bench/report";
import { LOCAL_POSTGRES } from "../support/database";

const root = fileURLToPath(new URL("../..", import.meta.url));

// `npm run bench -- --smoke` end to end, so the harness cannot rot. Only that it completes and
// fills every row: its figures are meaningless at this size and are never asserted.
describe("npm run bench -- --smoke", () => {
  const out = mkdtempSync(join(tmpdir(), "bench-smoke-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("completes and reports every workload, operation, start-up and memory figure", async () => {
    await promisify(execFile)(
      "npm",
      ["run", "--silent", "bench", "--", "--smoke", `--out=${out}`],
      {
        cwd: root,
        // Its own database goes next to the suite's server (dropped at the end).
        env: {
          ...process.env,
          BENCH_DATABASE_URL: process.env.TEST_DATABASE_URL ?? LOCAL_POSTGRES,
        },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const report: BenchReport = JSON.parse(readFileSync(join(out, "latest.json"), "utf8"));

    const workloads = report.workloads.map((w) => w.workload.replace(/ \(best: .*\)$/, ""));
    expect(workloads).toEqual([
      "W1 self-read",
      "baseline: W1 self-read",
      "Hono floor: W1 self-read (bare Hono app, same query)",
      "W1 self-read",
      "baseline: W1 self-read",
      "Hono floor: W1 self-read (bare Hono app, same query)",
      "W1 self-read, EdDSA tokens",
      "HS256: W1 self-read",
      "W1b admin reads another user",
      "baseline: W1b admin reads another user",
      "W2 login (48 accounts)",
      "baseline: W2 bare login (one query, argon2id, a token)",
      "raw argon2id verify",
      "W2f login with a second factor (2 requests)",
      "W2 login (same client as W2f)",
      "W3 register",
      "W4 refresh (rotation)",
      "W2 login, 200 at once (memory run)",
      "Worker: W1 self-read",
      "bare Worker: W1 self-read",
      "Worker: login",
      "bare Worker: login",
    ]);
    for (const w of report.workloads) {
      for (const figure of [w.rps, w.p50, w.p99]) expect(figure, w.workload).toBeTypeOf("number");
    }
    // W2f's few logins with a factor all succeed: a code the API refuses would show here.
    const w2f = report.workloads.find((w) => w.workload.startsWith("W2f "));
    expect(w2f?.rps).toBeGreaterThan(0);
    expect(w2f?.failed).toBe(0);
    expect(report.roundTrips.map((c) => c.name)).toEqual([
      "register",
      "login (success)",
      "login with a factor: password step",
      "login with a factor: code step",
      "login (wrong password)",
      "forget_password",
      "reset_password",
      "refresh",
      "logout",
      "logout all",
      "GET self",
      "GET other (admin)",
      "PUT (admin)",
      "PUT (admin, password)",
      "PUT (admin, email)",
      "DELETE (admin)",
      "GET /api/users (admin)",
      "GET /api/audit (admin)",
      "GET /api/me",
      "PATCH /api/me",
      "POST /api/me/password",
      "POST /api/user/verify_email",
      "POST /api/me/verify_email",
      "POST /api/me/email",
      "DELETE /api/me",
      "GET /api/me/sessions",
      "DELETE /api/me/sessions/{id}",
      "/ready",
      "/health",
      "/.well-known/jwks.json",
    ]);
    expect(report.startup).toHaveLength(4);
    expect(report.memory).toHaveLength(24);
    expect(report.tokens).toHaveLength(9);
    expect(report.worker).toHaveLength(6);
    const checks = [
      ...report.roundTrips,
      ...report.startup,
      ...report.memory,
      ...(report.worker ?? []),
    ];
    for (const check of [...checks, ...(report.tokens ?? [])]) {
      expect(Number.isFinite(check.value), check.name).toBe(true);
    }
    expect(readFileSync(join(out, "latest.md"), "utf8")).toContain("| W1 self-read | 10 |");
  }, 180_000);
});
