import { availableParallelism } from 'node:os'
import { configDefaults, defineConfig } from 'vitest/config'
import SlowFirstSequencer from './test/_support/sequencer.js'

/**
 * Test files run in parallel, at least four at once. Vitest's default on a 2-core machine is one
 * worker (cores - 1), which runs the suite file by file. Several files mostly wait: the two Redis
 * fault files each wait out a 30-second hang, others wait on a child `tsc`, `npm`, Jest or
 * Chromium. With four workers two of them can wait while two keep both cores busy (measured on
 * 2 cores with every server: about 140 s, against 180-250 s with two or three workers). No test
 * depends on running alone. KEYWARD_TEST_WORKERS=<n> sets the number.
 */
const WORKERS = Number(process.env.KEYWARD_TEST_WORKERS) || Math.max(4, availableParallelism())

/**
 * Files that need a process of their own: they replace a module for the file (`vi.mock`), load
 * modules anew (`vi.resetModules`), or register OpenTelemetry's process-wide context manager,
 * which a process accepts once. Every other file runs in a worker shared with the files before
 * it: a fresh process and module graph per file cost a third of the suite's CPU (about a second
 * per file), for isolation those files do not need. test/_support/setup.ts fails a file that
 * leaves fake timers or a clock spy behind, the one leak seen between them.
 */
const ISOLATED = ['test/core/scheme-hot-path.test.ts', 'test/resilience/hash.test.ts', 'test/otel/otel.test.ts', 'test/core/no-leak.test.ts']

export default defineConfig({
  test: {
    testTimeout: 20_000,
    // Every test must assert something (expect.hasAssertions()). KEYWARD_TEST_COSTS=<file> also
    // records each file's CPU and wall time there (test/_support/costs.ts).
    setupFiles: ['test/_support/setup.ts', ...(process.env.KEYWARD_TEST_COSTS ? ['test/_support/costs.ts'] : [])],
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: WORKERS,
    // The files that mostly wait or cost the most start first, also on a fresh clone.
    sequence: { sequencer: SlowFirstSequencer },
    projects: [
      { extends: true, test: { name: 'isolated', include: ISOLATED, isolate: true } },
      {
        extends: true,
        test: {
          name: 'shared',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...ISOLATED],
          isolate: false,
          // Starts the build and pack of the package for the tests that install it, and the one
          // type-check (against the build) of every scratch-project snippet and type-level test,
          // once per run; neither is waited for here (the tests that need them wait). A project's global setup runs once per project, so
          // only this one has it (no isolated file needs it).
          globalSetup: ['test/_support/global-setup.ts'],
        },
      },
    ],
  },
})
