import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real processes (git, Caddy, podman); keep parallelism modest on 2 cores.
    maxWorkers: 2,
    pool: "forks",
    setupFiles: ["test/setup.ts"],
  },
});
