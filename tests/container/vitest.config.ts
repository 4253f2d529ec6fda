import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The container test alone (npm run test:container): the root config's projects leave
// tests/container/ out of npm test, since building the image takes minutes where no base image
// can be pulled (docs/operations.md, "Docker").
export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["tests/container/**/*.test.ts"],
    reporters: ["default", "./tests/support/summary-reporter.ts"],
    testTimeout: 60_000,
    hookTimeout: 600_000,
  },
});
