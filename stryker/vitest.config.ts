/**
 * Vitest as Stryker runs it: the project's settings without the package build (no mutation
 * test installs the tarball), and with every test required to assert.
 */
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/_support/setup.ts', 'stryker/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
