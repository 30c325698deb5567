import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The program drops stack frames for speed (components/stack-traces.ts); tests keep them for their own failures.
    env: { AGENT_SANDBOX_STACK_TRACES: "1" },
    projects: [
      {
        test: {
          name: "unit",
          include: ["tests/unit/**/*.test.ts"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "live",
          include: ["tests/live/**/*.test.ts"],
          // One engine, two cores: live files share containers, images and the registry, so they run one at a time.
          fileParallelism: false,
          testTimeout: 15 * 60_000,
          hookTimeout: 20 * 60_000,
        },
      },
    ],
  },
});
