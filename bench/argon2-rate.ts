import { hash, verify } from "@node-rs/argon2";
import { ARGON2_PARAMS } from "../src/auth/password";
import { percentile } from "./stats";

const ARGON2ID = 2;

/** Verifies per second at the best concurrency, and the latency of one verify there (ms). */
export type RawRate = { rate: number; concurrency: number; p50: number; p99: number }; // Algorithm.Argon2id, a const enum the typings cannot export under isolatedModules

/**
 * The ceiling for logins: argon2id verifies per second on this Node with the app's parameters,
 * measured in the bench process with no HTTP and no database. Best of 1, 2 and 4 verifies in
 * flight (the API allows HASH_CONCURRENCY=4), each for `seconds`.
 */
export async function rawVerifyRate(seconds: number): Promise<RawRate> {
  const password = "bench raw argon2 password";
  const phc = await hash(password, { algorithm: ARGON2ID, ...ARGON2_PARAMS });
  let best: RawRate = { rate: 0, concurrency: 1, p50: Number.NaN, p99: Number.NaN };
  for (const concurrency of [1, 2, 4]) {
    const end = performance.now() + seconds * 1000;
    const latencies: number[] = [];
    const worker = async () => {
      while (performance.now() < end) {
        const t = performance.now();
        if (!(await verify(phc, password))) throw new Error("argon2 verify failed");
        latencies.push(performance.now() - t);
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    const rate = latencies.length / ((performance.now() - started) / 1000);
    if (rate > best.rate) {
      best = { rate, concurrency, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
    }
  }
  return best;
}
