import type { Config } from "../config";
import { hashingSaturated as busy } from "../errors";
import type { PasswordHasher } from "./password";

const MAX_WAITING = 512;

/**
 * Caps argon2 work in flight (each hash holds ~19 MiB): at most HASH_CONCURRENCY run, the rest
 * wait up to HASH_QUEUE_TIMEOUT_MS in a bounded queue and then fail with 503 + Retry-After, so a
 * login flood costs a bounded amount of memory instead of exhausting it. Entries apply it once per
 * process or isolate, when they build their dependencies.
 */
export function limitHashing(
  hasher: PasswordHasher,
  config: Pick<Config, "hashConcurrency" | "hashQueueTimeoutMs">,
): PasswordHasher {
  const options = {
    concurrency: config.hashConcurrency,
    queueTimeoutMs: config.hashQueueTimeoutMs,
  };
  // Waiting costs no argon2 memory, and a request that waits is one its client does not resend:
  // refusing at once under a flood only made clients retry faster and starved the event loop.
  // The bound only stops a pile of waiting requests from growing without end.
  const maxQueue = MAX_WAITING;
  const waiting: Array<{ grant: () => void; timer: ReturnType<typeof setTimeout> }> = [];
  let running = 0;

  const acquire = () => {
    if (running < options.concurrency) {
      running++;
      return Promise.resolve();
    }
    if (waiting.length >= maxQueue) return Promise.reject(busy());
    return new Promise<void>((resolve, reject) => {
      const entry = {
        grant: resolve,
        timer: setTimeout(() => {
          waiting.splice(waiting.indexOf(entry), 1);
          reject(busy());
        }, options.queueTimeoutMs),
      };
      waiting.push(entry);
    });
  };

  const release = () => {
    const next = waiting.shift();
    if (!next) {
      running--;
      return;
    }
    clearTimeout(next.timer);
    next.grant(); // the slot passes straight to the next waiter
  };

  const run = async <T>(work: () => Promise<T>) => {
    await acquire();
    try {
      return await work();
    } finally {
      release();
    }
  };

  return {
    hash: (password) => run(() => hasher.hash(password)),
    verify: (hash, password) => run(() => hasher.verify(hash, password)),
    saturated: () => running >= options.concurrency && waiting.length >= maxQueue,
  };
}
