import { Agent, request } from "node:http";
import type { LoadResult } from "./load";
import { runLoad } from "./load";
import { memoryOf } from "./processes";
import type { Account } from "./seed";
import { percentile, sleep } from "./stats";
import { loginRequests } from "./workloads";

export type MemoryResult = {
  idleRssMB: number;
  /** Highest VmRSS sampled every 50 ms during the logins, and VmHWM (life-long peak) after. */
  sampledPeakMB: number;
  lifetimePeakMB: number;
  logins: LoadResult;
  health: { p99: number; max: number; samples: number };
};

/** GET /health one after another on one kept-alive connection until `until` resolves. */
async function probeHealth(url: string, until: Promise<unknown>): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let done = false;
  const stop = () => {
    done = true;
  };
  // Both outcomes end the probe; a failed load is reported by the caller's own await.
  until.then(stop, stop);
  while (!done) {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      request(`${url}/health`, { agent }, (res) => {
        res.resume();
        res.on("end", resolve);
      })
        .on("error", reject)
        .end();
    });
    latencies.push(performance.now() - started);
    await sleep(10);
  }
  agent.destroy();
  return latencies;
}

/**
 * Memory of the API process when idle and under 200 concurrent logins (far more than the 4
 * argon2 slots: the rest queue, then get 503), and how /health answers meanwhile.
 */
export async function measureMemory(
  api: { url: string; pid: number },
  accounts: Account[],
  duration: number,
  idleRssMB: number,
): Promise<MemoryResult> {
  let sampledPeakMB = 0;
  const sampler = setInterval(() => {
    sampledPeakMB = Math.max(sampledPeakMB, memoryOf(api.pid).rssMB);
  }, 50);
  const load = runLoad({
    url: api.url,
    connections: 200,
    duration,
    requests: loginRequests(accounts),
  });
  try {
    const [logins, latencies] = await Promise.all([load, probeHealth(api.url, load)]);
    return {
      idleRssMB,
      sampledPeakMB,
      lifetimePeakMB: memoryOf(api.pid).peakMB,
      logins,
      health: {
        p99: percentile(latencies, 99),
        max: Math.max(...latencies),
        samples: latencies.length,
      },
    };
  } finally {
    clearInterval(sampler);
  }
}
