import { defineConfig } from "vitest/config";
import { isPostgresWriteAfterClose } from "./src/node/postgres-known-bug";

// The contract suite runs three times: in-process against the Node app, over HTTP against the
// Node server, and over HTTP against the Worker in a local workerd (tests/support/contract-api.ts
// picks by TEST_TARGET).
export default defineConfig({
  test: {
    // The default report, then one plain "N passed, N failed" line to close the run.
    reporters: ["default", "./tests/support/summary-reporter.ts"],
    testTimeout: 30_000,
    // The outage tests run the app in the test process: a postgres.js bug the Node entry also
    // tolerates (src/node/postgres-known-bug.ts) must not fail the run. Any other error does.
    onUnhandledError: (error) => !isPostgresWriteAfterClose(error),
    hookTimeout: 60_000,
    // Each file gets its own database, so files may run in parallel (2 cores here).
    pool: "forks",
    projects: [
      {
        extends: true,
        test: {
          name: "node",
          // vitest's default on 2 cores is one file at a time; most files wait on Postgres, child
          // processes (scripts, bench smoke) or timers (the outage tests), so two overlap well.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
          include: ["tests/contract/**/*.test.ts", "tests/node/**/*.test.ts"],
          env: { TEST_TARGET: "node" },
        },
      },
      {
        extends: true,
        test: {
          // The contract again, over HTTP against the Node server as `npm start` runs it (its own
          // process: native argon2, the Resend SDK to a fake, keep-alive connections).
          name: "node-http",
          // The files share no state (each starts its own server and database), so a fork's
          // files may share its imports; two at a time, after the node project (as the worker's).
          isolate: false,
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
          include: ["tests/contract/**/*.test.ts"],
          env: { TEST_TARGET: "node-http" },
        },
      },
      {
        extends: true,
        test: {
          name: "worker",
          // Bundles the Worker once, as `npm run deploy` would; each file runs it in its workerd.
          globalSetup: ["tests/support/worker-bundle.ts"],
          // Importing Miniflare costs seconds; let the files of a fork share it. They share no
          // state: each starts its own workerd and database.
          isolate: false,
          // They mostly wait on workerd and Postgres, so two at a time pay off even on 2 cores;
          // they run after the node project (its outage tests measure time).
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
          include: ["tests/contract/**/*.test.ts", "tests/worker/**/*.test.ts"],
          // workerd reaches Postgres over TCP: these files use TEST_DATABASE_URL's server, or the
          // local one when it is unset (tests/support/database.ts), never PGlite.
          env: { TEST_TARGET: "worker" },
        },
      },
    ],
  },
});
