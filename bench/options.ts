/** How long and how often to measure; from flags (`--smoke`, `--duration=5`) or BENCH_* env. */
export type BenchOptions = {
  /** Server holding the bench's own database; a fresh one is created next to this URL. */
  databaseUrl: string;
  /** Seconds per measurement. */
  duration: number;
  rounds: number;
  smoke: boolean;
  /** Users in the table for the main runs, and for the big-table W1 (0: skipped). */
  users: number;
  bigUsers: number;
  /** Distinct accounts with their own argon2id hash, for login workloads. */
  loginAccounts: number;
  /** W2f: logins with a second factor per round (each spends an account of its own). */
  factorLogins: number;
  /** Round-trip counting: runs discarded first, then runs whose median is reported. */
  warmups: number;
  samples: number;
  /** Where latest.json and latest.md go. */
  outDir: string;
};

const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres";

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match?.[1]) throw new Error(`Unknown argument: ${arg}`);
    flags.set(match[1], match[2] ?? "true");
  }
  const pick = (flag: string, variable: string) => flags.get(flag) ?? env[variable];
  const number = (flag: string, variable: string, fallback: number) => {
    const raw = pick(flag, variable);
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0)
      throw new Error(`${variable}: not a positive number`);
    return value;
  };
  const smokeFlag = pick("smoke", "BENCH_SMOKE");
  const smoke = smokeFlag === "true" || smokeFlag === "1";
  return {
    databaseUrl: pick("database-url", "BENCH_DATABASE_URL") || DEFAULT_DATABASE_URL,
    duration: number("duration", "BENCH_DURATION", smoke ? 0.5 : 5),
    rounds: Math.round(number("rounds", "BENCH_ROUNDS", smoke ? 1 : 3)),
    smoke,
    users: smoke ? 200 : 1_000,
    bigUsers: smoke ? 0 : 100_000,
    loginAccounts: 48,
    factorLogins: smoke ? 5 : 300,
    warmups: smoke ? 1 : 3,
    samples: smoke ? 1 : 5,
    outDir: pick("out", "BENCH_OUT") || new URL("results/", import.meta.url).pathname,
  };
}
