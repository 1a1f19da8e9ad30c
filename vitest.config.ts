import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

/**
 * Test files run in parallel, at least two at once. Vitest's default on a 2-core machine is one
 * worker (cores - 1), which runs the suite file by file: a fault test waiting out a 30-second
 * Redis hang, or a test waiting on a child \`tsc\`, then holds up every CPU-bound file behind it.
 * Two workers let those waits overlap with work; no test depends on running alone.
 */
const WORKERS = Math.max(2, availableParallelism() - 1)

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    // Builds and packs the package once per run, for the tests that install it.
    globalSetup: ['test/package/_global-pack.ts'],
    // Every test must assert something (expect.hasAssertions()).
    setupFiles: ['test/_support/setup.ts'],
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: WORKERS,
  },
})
