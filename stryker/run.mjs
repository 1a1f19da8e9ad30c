#!/usr/bin/env node
/**
 * `npm run mutate [-- <module>…] [--only <file glob>] [--full] [--check] [--static] [--concurrency N] [--survivors]`
 *
 * Runs StrykerJS (vitest runner, per-test coverage) on each security module in turn, with only
 * the test files that specify that module, and prints one row per module: score, killed,
 * survived, no coverage, timeout, time. Exits 1 when any module scores under THRESHOLD.
 *
 * Incremental by default: each module's results are kept in stryker/incremental/<module>.json
 * (committed), so a run re-tests only mutants whose code or covering tests changed. `--full`
 * re-tests everything (and rewrites the file). `--check` (CI) starts from the committed results but
 * writes the run's to .tmp/stryker/, so that a clean clone stays clean: Stryker renumbers the
 * file on every run, even when it re-tests nothing.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { Stryker } from '@stryker-mutator/core'
import { mergeReports } from './_merge.mjs'
import { MODULES, THRESHOLD } from './modules.mjs'

process.chdir(fileURLToPath(new URL('..', import.meta.url)))

const args = process.argv.slice(2)
const flag = (name) => args.includes(name)
const value = (name, fallback) => {
  const i = args.indexOf(name)
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback
}
const concurrency = Number(value('--concurrency', process.env.KEYWARD_MUTATE_CONCURRENCY ?? '2'))
// --only <glob>: mutate only the files of the module that match (one file after an edit).
const only = value('--only', undefined)
const skip = new Set(['--concurrency', value('--concurrency', ''), '--only', only])
const wanted = args.filter((a) => !a.startsWith('--') && !skip.has(a))
for (const name of wanted) {
  if (!Object.hasOwn(MODULES, name)) {
    console.error(`unknown module "${name}"; modules: ${Object.keys(MODULES).join(', ')}`)
    process.exit(2)
  }
}
const names = wanted.length > 0 ? wanted : Object.keys(MODULES)

/** Detected = killed or timed out; valid = detected + survived + no coverage (RFC-free: Stryker's own definition). */
function tally(results) {
  const n = { Killed: 0, Survived: 0, NoCoverage: 0, Timeout: 0, RuntimeError: 0, CompileError: 0, Ignored: 0 }
  for (const r of results) n[r.status] = (n[r.status] ?? 0) + 1
  const detected = n.Killed + n.Timeout
  const valid = detected + n.Survived + n.NoCoverage
  return { ...n, score: valid === 0 ? 100 : (100 * detected) / valid }
}

const rows = []
for (const name of names) {
  const m = MODULES[name]
  // A listed test file that does not exist (yet) is left out rather than failing the run.
  const testFiles = m.tests.filter((f) => f.includes('*') || existsSync(f))
  const committed = `stryker/incremental/${name}.json`
  const incrementalFile = flag('--check') ? `.tmp/stryker/${name}.json` : committed
  if (incrementalFile !== committed) {
    mkdirSync('.tmp/stryker', { recursive: true })
    if (existsSync(committed)) copyFileSync(committed, incrementalFile)
  }
  const stryker = new Stryker({
    packageManager: 'npm',
    testRunner: 'vitest',
    plugins: ['@stryker-mutator/vitest-runner'],
    vitest: { configFile: 'stryker/vitest.config.ts', related: false },
    coverageAnalysis: 'perTest',
    mutate: only === undefined ? m.mutate : [only],
    testFiles,
    concurrency,
    // Static mutants (module-level constants: the default role matrix, lookup tables) need a
    // fresh module load and every test per mutant: hours on a 2-core machine. Opt in with --static.
    ignoreStatic: !flag('--static'),
    incremental: true,
    force: flag('--full'),
    incrementalFile,
    ignorePatterns: ['docs', 'examples', 'bench', 'dist', 'api-docs', '.tmp', 'coverage', 'reports'],
    tempDirName: `.stryker-tmp/${name}`,
    cleanTempDir: 'always',
    timeoutMS: 10_000,
    dryRunTimeoutMinutes: 30,
    reporters: ['clear-text', 'html', 'json', process.stdout.isTTY ? 'progress' : 'progress-append-only'],
    clearTextReporter: { reportMutants: flag('--survivors'), reportTests: false, logTests: false, allowEmojis: false },
    htmlReporter: { fileName: `reports/mutation/${name}.html` },
    jsonReporter: { fileName: `reports/mutation/${name}.json` },
    thresholds: { high: 95, low: THRESHOLD, break: null },
    logLevel: 'info',
  })
  const before = only === undefined ? undefined : readReport(incrementalFile)
  const t0 = performance.now()
  const results = await stryker.runMutationTest()
  const seconds = Math.round((performance.now() - t0) / 1000)
  if (before === undefined) {
    rows.push({ name, seconds, ...tally(results) })
  } else {
    // Stryker writes only the files it mutated: put the module's other files back, so that a
    // run on one file keeps the rest of the module's results, and score the whole module.
    const merged = mergeReports(before, readReport(incrementalFile))
    writeFileSync(incrementalFile, JSON.stringify(merged))
    rows.push({ name, seconds, ...tally(Object.values(merged.files).flatMap((f) => f.mutants)) })
  }
}

function readReport(file) {
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined
}

const pad = (s, n) => String(s).padStart(n)
console.log(`\nmutation score per security module (threshold ${THRESHOLD}%)`)
console.log(`${'module'.padEnd(12)}${pad('score', 8)}${pad('killed', 8)}${pad('survived', 10)}${pad('no-cov', 8)}${pad('timeout', 9)}${pad('time', 8)}`)
let failed = false
for (const r of rows) {
  const low = r.score < THRESHOLD
  failed ||= low
  console.log(
    `${r.name.padEnd(12)}${pad(r.score.toFixed(2), 8)}${pad(r.Killed, 8)}${pad(r.Survived, 10)}${pad(r.NoCoverage, 8)}${pad(r.Timeout, 9)}${pad(`${r.seconds}s`, 8)}${low ? '  BELOW' : ''}`,
  )
}
process.exit(failed ? 1 : 0)
