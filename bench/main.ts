// `npm run bench`: measures the API against a framework-free baseline and raw argon2id on a
// database of its own, prints the table and writes bench/results/latest.{json,md}.
// Flags: --smoke (or BENCH_SMOKE=1), --duration=<s>, --rounds=<n>, --database-url=<url>, --out=<dir>.
import { join } from "node:path";
import { createBenchDatabase } from "./bench-database";
import { parseOptions } from "./options";
import { killAllServers } from "./processes";
import { writeReport } from "./report";
import { runScenario } from "./scenario";

const log = (line: string) => console.error(`[bench] ${line}`);

async function main() {
  const options = parseOptions(process.argv.slice(2), process.env);
  const server = new URL(options.databaseUrl);
  log(`Creating a database of its own on ${server.hostname}:${server.port || 5432}…`);
  const db = await createBenchDatabase(options.databaseUrl);

  // Ctrl-C or a kill: stop the servers and drop the database before leaving.
  const abort = (signal: NodeJS.Signals) => {
    log(`${signal}: cleaning up…`);
    killAllServers();
    void db.drop().finally(() => process.exit(130));
  };
  process.once("SIGINT", abort);
  process.once("SIGTERM", abort);

  try {
    const report = await runScenario(options, db, log);
    const markdown = writeReport(report, options.outDir);
    console.log(markdown);
    log(`Written to ${join(options.outDir, "latest.json")} and latest.md`);
  } finally {
    killAllServers();
    await db.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
