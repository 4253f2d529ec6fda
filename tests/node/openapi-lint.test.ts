import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type NodeTestApi } from "../support/node-api";

const redocly = fileURLToPath(
  new URL("../../node_modules/@redocly/cli/bin/cli.js", import.meta.url),
);

type Problem = {
  ruleId: string;
  severity: "error" | "warn";
  message: string;
  location: { pointer: string }[];
};

/**
 * `redocly lint` with its built-in recommended rules, offline: no telemetry, no update check, and
 * no configuration file but the rules named here (it runs in an empty directory).
 */
async function lint(document: string) {
  const dir = await mkdtemp(join(tmpdir(), "openapi-lint-"));
  try {
    const file = join(dir, "openapi.json");
    await writeFile(file, document);
    const args = [redocly, "lint", "--extends", "recommended", "--format", "json", file];
    const env = {
      ...process.env,
      REDOCLY_TELEMETRY: "off",
      REDOCLY_SUPPRESS_UPDATE_NOTICE: "true",
    };
    // Exits 1 when it finds errors; the report is on stdout either way.
    const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: dir, env }).catch(
      (error: { stdout?: string; stderr?: string }) => {
        if (!error.stdout) throw new Error(`redocly lint failed: ${error.stderr}`);
        return { stdout: error.stdout };
      },
    );
    return JSON.parse(stdout) as {
      totals: { errors: number; warnings: number };
      problems: Problem[];
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const describeProblem = (p: Problem) =>
  `${p.severity} ${p.ruleId} at ${p.location.map((l) => l.pointer).join(", ")}: ${p.message}`;

describe("GET /openapi.json", () => {
  let api: NodeTestApi;
  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(() => api.close());

  it("lints clean with redocly's recommended rules (warnings are reported, not failed)", async () => {
    const res = await api.app.request("/openapi.json");
    expect(res.status).toBe(200);
    const report = await lint(await res.text());
    const warnings = report.problems.filter((p) => p.severity !== "error");
    if (warnings.length > 0) console.log(warnings.map(describeProblem).join("\n"));
    expect(report.problems.filter((p) => p.severity === "error").map(describeProblem)).toEqual([]);
    expect(report.totals.errors).toBe(0);
  });
});
