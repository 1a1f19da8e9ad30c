import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

/**
 * Test files run in parallel, at least two at once. Vitest's default on a 2-core machine is one
 * worker (cores - 1), which runs the suite file by file: a fault test waiting out a 30-second
 * Redis hang, or a test waiting on a child \`tsc\`, then holds up every CPU-bound file behind it.
 * Two workers let those waits overlap with work; no test depends on running alone.
 * KEYWARD_TEST_WORKERS=<n> sets the number.
 */
const WORKERS = Number(process.env.KEYWARD_TEST_WORKERS) || Math.max(2, availableParallelism() - 1)

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    // Starts the one tsc run of every scratch-project test's programs (not waited for), then builds
    // and packs the package once per run, for the tests that install it.
    globalSetup: ['test/_support/global-typecheck.ts', 'test/package/_global-pack.ts'],
    // Every test must assert something (expect.hasAssertions()). KEYWARD_TEST_COSTS=<file> also
    // records each file's CPU and wall time there (test/_support/costs.ts).
    setupFiles: ['test/_support/setup.ts', ...(process.env.KEYWARD_TEST_COSTS ? ['test/_support/costs.ts'] : [])],
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: WORKERS,
  },
})
