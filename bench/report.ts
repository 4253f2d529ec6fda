import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Machine } from "./machine";

/** One load workload against the API, beside what it is compared with. Latencies in ms. */
export type WorkloadRow = {
  workload: string;
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  /** Requests that did not get a 2xx (or failed to connect): shown so nothing hides in a rate. */
  failed: number;
  /** rps divided by the reference's (the baseline, raw argon2id, or W1 at 1,000 users). */
  ratio: number | null;
  ratioTo: string | null;
  roundTrips: number | null;
  target: string;
  /** null: no target for this row. */
  holds: boolean | null;
};

/** A single figure with its target (round trips, start-up, memory). */
export type Check = {
  name: string;
  value: number;
  unit: string;
  target: string;
  holds: boolean | null;
};

export type BenchReport = {
  machine: Machine;
  settings: { duration: number; rounds: number; smoke: boolean; users: number; bigUsers: number };
  workloads: WorkloadRow[];
  roundTrips: Check[];
  startup: Check[];
  memory: Check[];
  /** µs to verify one access token, by kind (absent from reports made before issue 20). */
  tokens?: Check[];
  /** CPU time per request of the Worker runs (absent from reports made before issue 21). */
  worker?: Check[];
  notes: string[];
};

const num = (v: number | null, digits = 1) =>
  v === null || Number.isNaN(v)
    ? "–"
    : v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const verdict = (holds: boolean | null) => (holds === null ? "" : holds ? "yes" : "**no**");

function table(head: string[], rows: string[][]) {
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

export function toMarkdown(report: BenchReport): string {
  const m = report.machine;
  const s = report.settings;
  const workloads = table(
    [
      "workload",
      "conns",
      "req/s",
      "p50 ms",
      "p99 ms",
      "ratio",
      "DB round trips",
      "failed",
      "target",
      "holds",
    ],
    report.workloads.map((w) => [
      w.workload,
      String(w.connections),
      num(w.rps),
      num(w.p50),
      num(w.p99),
      w.ratio === null ? "" : `${num(w.ratio, 2)} × ${w.ratioTo}`,
      w.roundTrips === null ? "" : num(w.roundTrips, 0),
      String(w.failed),
      w.target,
      verdict(w.holds),
    ]),
  );
  const checks = (rows: Check[], head: string) =>
    table(
      [head, "value", "target", "holds"],
      rows.map((c) => [
        c.name,
        `${num(c.value, c.unit === "ms" || c.unit === "MiB" || c.unit === "µs" ? 1 : 0)} ${c.unit}`.trim(),
        c.target,
        verdict(c.holds),
      ]),
    );
  return [
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; PostgreSQL ${m.postgres}; ${m.date}.`,
    `Settings: ${s.duration} s per measurement, ${s.rounds} round(s), ${s.users.toLocaleString("en-US")} users${s.bigUsers ? ` (big table: ${s.bigUsers.toLocaleString("en-US")})` : ""}${s.smoke ? ", smoke mode (figures meaningless)" : ""}.`,
    "",
    workloads,
    "",
    checks(report.roundTrips, "database round trips per operation (median)"),
    "",
    checks(report.startup, "start-up to the first 200 from /ready"),
    "",
    checks(report.memory, "memory, CPU and liveness"),
    "",
    ...(report.tokens ? [checks(report.tokens, "verifying one access token (Node)"), ""] : []),
    ...(report.worker ? [checks(report.worker, "Worker: CPU time per request"), ""] : []),
    ...report.notes.map((n) => `- ${n}`),
    "",
  ].join("\n");
}

/** Writes latest.json and latest.md into `dir`; returns the Markdown. */
export function writeReport(report: BenchReport, dir: string): string {
  const markdown = toMarkdown(report);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(dir, "latest.md"), markdown);
  return markdown;
}
