import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/processes";
import { run } from "../support/project-dir";

// The Node entry's log sink (src/node/log-sink.ts) gathers info lines and writes them once per
// event-loop turn. A process that exits in the turn that logged them (process.exit after a
// fatal error, a signal handler's exit) must still write them: they are written at exit.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "log-sink-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs `body` in a Node process with the batched log installed; `log` is src/log/log's. */
async function runWithBatchedLog(body: string) {
  const source = (path: string) => JSON.stringify(pathToFileURL(join(ROOT, path)).href);
  const script = join(dir, `child-${Math.random().toString(36).slice(2)}.ts`);
  await writeFile(
    script,
    `import { installBatchedLog } from ${source("src/node/log-sink.ts")};
import { log } from ${source("src/log/log.ts")};
installBatchedLog();
${body}
`,
  );
  return run(ROOT, process.execPath, ["--import", "tsx", script]);
}

const lines = (text: string) =>
  text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe("info lines gathered when the process exits", () => {
  it("are written by process.exit() in the turn that logged them", async () => {
    const result = await runWithBatchedLog(`
for (let i = 0; i < 3; i++) log("info", "gathered", { i });
process.exit(3);
`);
    expect(result.code, result.stderr).toBe(3);
    expect(lines(result.stdout)).toEqual(
      [0, 1, 2].map((i) => expect.objectContaining({ msg: "gathered", i })),
    );
  });

  it("come out before a warning logged after them, and the rest still at exit", async () => {
    const result = await runWithBatchedLog(`
log("info", "before");
log("warn", "trouble");
log("info", "after");
process.exit(0);
`);
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout).map((line) => line.msg)).toEqual(["before", "after"]);
    expect(lines(result.stderr).map((line) => line.msg)).toEqual(["trouble"]);
  });
});

describe("info lines gathered across event-loop turns", () => {
  it("come out in one write, soon after the first of them", async () => {
    const result = await runWithBatchedLog(`
const writes: string[] = [];
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string, ...rest: never[]) => {
  writes.push(String(chunk));
  return write(chunk, ...rest);
}) as typeof process.stdout.write;
log("info", "first");
setImmediate(() => {
  log("info", "second");
  setImmediate(() => {
    log("info", "third");
    const waited = writes.length;
    setTimeout(() => {
      process.stderr.write(JSON.stringify({ waited, writes: writes.length }) + "\\n");
    }, 200);
  });
});
`);
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout).map((line) => line.msg)).toEqual(["first", "second", "third"]);
    // Nothing was written during the three turns; then all three lines in a single write.
    expect(lines(result.stderr)).toEqual([{ waited: 0, writes: 1 }]);
  });

  it("do not keep a process alive, and are written when it ends of itself", async () => {
    const result = await runWithBatchedLog(`
log("info", "last words");
`);
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout).map((line) => line.msg)).toEqual(["last words"]);
  });

  it("are written at once when enough of them wait", async () => {
    const result = await runWithBatchedLog(`
let writes = 0;
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string, ...rest: never[]) => {
  writes++;
  return write(chunk, ...rest);
}) as typeof process.stdout.write;
const padding = "x".repeat(1000);
for (let i = 0; i < 100; i++) log("info", "bulk", { i, padding });
process.stderr.write(JSON.stringify({ writes }) + "\\n");
process.exit(0);
`);
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout)).toHaveLength(100);
    // About 100 KB: the first 64 KiB went out while the loop ran, the rest at exit.
    expect(lines(result.stderr)).toEqual([{ writes: 1 }]);
  });
});
