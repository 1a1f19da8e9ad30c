import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    // Builds and packs the package once per run, for the tests that install it.
    globalSetup: ['test/package/_global-pack.ts'],
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
