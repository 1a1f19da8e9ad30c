/**
 * Loaded before every test file when `KEYWARD_TEST_COSTS=<file>` is set (vitest.config.ts): after
 * the file's tests, appends one JSON line `{ file, cpuMs, wallMs }` to `<file>`. CPU is the test
 * process's user + system time plus that of every child it waited for (tsc, npm, Jest, tsx),
 * from `/proc/self/stat`, so it measures what a file costs on a loaded machine, where wall time
 * mostly measures the other load. Linux only; elsewhere it records wall time alone.
 *
 * Summarize with `node scripts/test-costs.mjs <file>`.
 */
import { appendFileSync, readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { afterAll, beforeAll, expect } from 'vitest'

/** Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on every Linux port in use). */
const USER_HZ = 100

/** utime + stime + cutime + cstime of this process in ms, or `null` without `/proc`. */
function cpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    // Fields after the command name (which may hold spaces), 1-based from field 3: utime is 14.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0)
    return Number.isFinite(ticks) ? (ticks * 1000) / USER_HZ : null
  } catch {
    return null
  }
}

const out = process.env.KEYWARD_TEST_COSTS
let cpu0: number | null = null
let wall0 = 0
let file = '?'

// A worker shared by several files (vitest.config.ts) keeps counting: each file is charged from
// where the previous file of its process ended (its own imports included), so the sum over files
// is the sum over processes.
const ENDED = Symbol.for('keyward.test.costs.ended')
const worker = globalThis as { [ENDED]?: number }
const minus = (a: number | null, b: number): number | null => (a === null ? null : a - b)

beforeAll(() => {
  cpu0 = cpuMs()
  wall0 = performance.now()
  file = relative(process.cwd(), expect.getState().testPath ?? '?')
})

afterAll(() => {
  if (out === undefined || out === '') return
  const cpu1 = cpuMs()
  const since = worker[ENDED] ?? 0
  if (cpu1 !== null) worker[ENDED] = cpu1
  // beforeCpuMs: the CPU before the file's first hook (a new worker's start-up, the file's imports).
  appendFileSync(out, `${JSON.stringify({ file, pid: process.pid, cpuMs: minus(cpu1, since), beforeCpuMs: minus(cpu0, since), wallMs: Math.round(performance.now() - wall0) })}\n`)
})
