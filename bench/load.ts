import autocannon from "autocannon";

/** What one autocannon run measured. Latencies in milliseconds. */
export type LoadResult = {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  ok: number;
  /** Responses other than 2xx plus connection errors (timeouts included): reported, not hidden. */
  failed: number;
};

export type LoadSpec = {
  url: string;
  connections: number;
  duration: number;
  requests: autocannon.Request[];
  headers?: Record<string, string>;
};

/** Runs autocannon in this process (one connection per `connections`, no pipelining). */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.duration,
    pipelining: 1,
    headers: spec.headers,
    requests: spec.requests,
    // Slow answers (argon2 queues) are measured, not cut off at autocannon's 10 s default.
    timeout: 30,
  });
  const ok = result["2xx"];
  return {
    rps: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    ok,
    failed: result.non2xx + result.errors,
  };
}
