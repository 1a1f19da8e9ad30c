/**
 * The Chromium the console's browser tests drive: where it is, whether it is there (a missing
 * browser skips those tests outside CI, with one line saying how to get it; in CI it fails them),
 * and the flags it is started with.
 */
import { existsSync } from 'node:fs'

export const EXE = process.env.KEYWARD_CHROMIUM ?? '/usr/bin/chromium'
export const HAVE_BROWSER = existsSync(EXE)
export const IN_CI = process.env.CI === 'true'
if (!HAVE_BROWSER && !IN_CI) console.warn(`[keyward] browser test skipped: no Chromium at ${EXE} (install Debian's chromium or set KEYWARD_CHROMIUM)`)

export const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

/**
 * How long a poll waits for the page to reach the state it asserts: a liveness limit only, under
 * each test's own timeout, for a page that never gets there. Nothing in these suites asserts how
 * fast the console answers (vitest's default of 1 s gave up on a loaded machine while an answer
 * was on its way).
 */
export const SETTLE = { timeout: 25_000, interval: 20 }

/**
 * How long one Playwright action or wait may take before it fails naming its locator: under the
 * 30 s of a test, so a page that never gets there says where it stopped instead of ending in a
 * bare test timeout.
 */
export const ACTION_TIMEOUT_MS = 20_000
