import { defineConfig } from 'vitest/config';

// Tests that need a real Kafka broker live in test/e2e/ and test/tools/broker/, plus the real
// Prometheus test (test/deploy/prometheus.test.ts: promtool and a Prometheus scraping a dispatcher);
// everything else is a unit test that runs without Java, Kafka or Prometheus (`npm run test:unit`).
const NEEDS_BROKER = ['test/e2e/**/*.test.ts', 'test/tools/broker/**/*.test.ts', 'test/deploy/prometheus.test.ts'];

export default defineConfig({
  test: {
    // Integration tests talk to a real broker and real sockets; generous, not tight.
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    // The fault suite's figures table (test/e2e/faults), printed when fault cases ran.
    reporters: ['default', './test/helpers/faults-reporter.ts'],
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'text', 'html'],
      reportsDirectory: 'coverage',
    },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: NEEDS_BROKER },
      },
      {
        extends: true,
        test: { name: 'integration', include: NEEDS_BROKER, globalSetup: ['test/helpers/global-setup.ts'] },
      },
    ],
  },
});
