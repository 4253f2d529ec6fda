import type { LoadResult } from "./load";
import { median } from "./stats";

/** The median of each figure over several runs (each figure on its own). */
export function medianResult(runs: LoadResult[]): LoadResult {
  const of = (pick: (r: LoadResult) => number) => median(runs.map(pick));
  return {
    rps: of((r) => r.rps),
    p50: of((r) => r.p50),
    p99: of((r) => r.p99),
    max: of((r) => r.max),
    ok: of((r) => r.ok),
    failed: runs.reduce((sum, r) => sum + r.failed, 0),
  };
}

/**
 * A B A B…: `rounds` runs of each, alternating, so drift (caches, table growth, a busy
 * neighbour) hits both sides alike; medians of each side.
 */
export async function alternate<B>(
  rounds: number,
  a: () => Promise<LoadResult>,
  b: () => Promise<B>,
): Promise<{ a: LoadResult; b: B[] }> {
  const as: LoadResult[] = [];
  const bs: B[] = [];
  for (let i = 0; i < rounds; i++) {
    as.push(await a());
    bs.push(await b());
  }
  return { a: medianResult(as), b: bs };
}

export async function repeat(rounds: number, run: () => Promise<LoadResult>): Promise<LoadResult> {
  const runs: LoadResult[] = [];
  for (let i = 0; i < rounds; i++) runs.push(await run());
  return medianResult(runs);
}
