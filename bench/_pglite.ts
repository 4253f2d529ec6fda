import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { login } from "./api-client";
import { cpuSeconds } from "./cpu";
import { runLoad } from "./load";
import { memoryOf, startServer } from "./processes";
import { sleep } from "./stats";
import { readUser } from "./workloads";

const dir = mkdtempSync(join(tmpdir(), "pglite-lift-"));
const env = {
  NODE_ENV: "production",
  JWT_SECRET_KEY: randomBytes(32).toString("base64url"),
  PGLITE_DIR: join(dir, "db"),
};
try {
  // Create the directory once, and one account.
  const first = await startServer(["scripts/start.mjs"], env, { timeoutMs: 120_000 });
  const username = "lift_user";
  const password = "a long lift password 42";
  await fetch(`${first.url}/api/user/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      username,
      first_name: "L",
      last_name: "U",
      email: "lift@example.com",
      password,
    }),
  });
  await first.stop();
  const variants: Record<string, string[]> = {
    "runtime flag (new default)": [],
    "tier-up allowed (old)": ["--no-liftoff-only"],
  };
  for (let round = 0; round < 2; round++) {
    for (const [name, flags] of Object.entries(variants)) {
      const api = await startServer([...flags, "scripts/start.mjs"], env, { timeoutMs: 120_000 });
      await sleep(300);
      const atReady = memoryOf(api.pid);
      const token = (await login(api.url, { username, password, email: "" })).access;
      await runLoad({
        url: api.url,
        connections: 10,
        duration: 2,
        requests: readUser(username, token),
      });
      const c0 = cpuSeconds(api.pid);
      const r = await runLoad({
        url: api.url,
        connections: 10,
        duration: 4,
        requests: readUser(username, token),
      });
      const cpuUs = ((cpuSeconds(api.pid) - c0) * 1e6) / (r.ok + r.failed);
      const after = memoryOf(api.pid);
      console.log(
        `${name}: start ${api.startupMs.toFixed(0)} ms, VmHWM at ready ${atReady.peakMB.toFixed(0)} MB, RSS ${atReady.rssMB.toFixed(0)} MB; W1 ${r.rps.toFixed(0)} req/s p50 ${r.p50} ms, CPU ${cpuUs.toFixed(0)} µs/request; VmHWM after ${after.peakMB.toFixed(0)} MB, RSS ${after.rssMB.toFixed(0)} MB`,
      );
      await api.stop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
