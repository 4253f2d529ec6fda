import { readdirSync, readFileSync } from "node:fs";
import { median } from "./stats";

/** CPU time (user + system) a process has used so far, in seconds, from /proc (Linux). */
export function cpuSeconds(pid: number, file = `/proc/${pid}/stat`): number {
  const fields = readFileSync(file, "utf8").split(") ")[1]?.split(" ") ?? [];
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU time of a process's main thread alone (its event loop on Node), in seconds. */
export const mainThreadCpuSeconds = (pid: number) =>
  cpuSeconds(pid, `/proc/${pid}/task/${pid}/stat`);

/**
 * CPU time per answered request, kept by name: `measure(name, cpuOf, run)` runs a load, divides the
 * CPU seconds `cpuOf` counted over it by its answers and keeps the figure in µs; `median(name)`
 * reads the figures back. Steadier than req/s on a shared machine: waiting for a core costs none.
 */
export function cpuPerRequest() {
  const figures = new Map<string, number[]>();
  return {
    async measure<R extends { ok: number; failed: number }>(
      name: string,
      cpuOf: () => number,
      run: () => Promise<R>,
    ): Promise<R> {
      const before = cpuOf();
      const result = await run();
      const us = ((cpuOf() - before) * 1e6) / Math.max(1, result.ok + result.failed);
      figures.set(name, [...(figures.get(name) ?? []), us]);
      return result;
    },
    median: (name: string) => median(figures.get(name) ?? []),
  };
}

/**
 * CPU time the children a process has waited for used, in seconds: for Postgres's postmaster,
 * the backends that have exited (one per connection).
 */
export function exitedChildrenCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // cutime and cstime are fields 16 and 17 of the whole line.
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/** The ids of this process's children whose command name is `name` (e.g. Miniflare's workerd). */
export function childrenNamed(name: string, parent = process.pid): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (comm === name && ppid === parent) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
