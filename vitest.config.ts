import { defineConfig } from "vitest/config";

// The contract suite runs twice: in-process against the Node app, and over HTTP against the
// Worker in a local workerd (tests/support/contract-api.ts picks by TEST_TARGET).
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file gets its own database, so files may run in parallel (2 cores here).
    pool: "forks",
    projects: [
      {
        extends: true,
        test: {
          name: "node",
          include: ["tests/contract/**/*.test.ts", "tests/node/**/*.test.ts"],
          env: { TEST_TARGET: "node" },
        },
      },
      {
        extends: true,
        test: {
          name: "worker",
          include: ["tests/contract/**/*.test.ts", "tests/worker/**/*.test.ts"],
          // workerd reaches Postgres over TCP: these files use TEST_DATABASE_URL's server, or the
          // local one when it is unset (tests/support/database.ts), never PGlite.
          env: { TEST_TARGET: "worker" },
        },
      },
    ],
  },
});
