/**
 * keyward/testing under Jest, from the built and packed package, as a user installs it.
 *
 * The package is built and packed once per run by the globalSetup (test/package/_global-pack.ts),
 * the same tarball the package test installs, and installed offline into a copy of
 * examples/jest-consumer outside the repository, with the runtime dependencies copied from the
 * repository's node_modules (as test/package does) and the test tools linked from it. Then the
 * repository's Jest runs the example's CommonJS and ESM tests in child processes: one run for
 * every CommonJS case (each project with its own configuration), one for native ESM, which needs
 * a Node flag the CommonJS cases must run without.
 *
 * What it shows, on this Node (20.x):
 * - a CommonJS project with no Jest configuration at all (fixtures/bare-jest) requires
 *   `keyward`, `keyward/testing` and the three adapters and passes for every scheme but JWT:
 *   on Node the keys are hashed with node:crypto, so the ESM-only @noble/hashes is never loaded,
 *   and jose is loaded only by a JWT scheme or `mintToken`;
 * - there, JWT fails: Jest's own module loader cannot require() the ESM-only jose before Node
 *   24.9, even though Node itself can;
 * - native ESM (`node --experimental-vm-modules`, `.mjs` tests) works with no transform;
 * - CommonJS works once babel-jest compiles those two packages to CommonJS, with
 *   `@babel/plugin-transform-modules-commonjs` (examples/jest-consumer/jest.config.cjs). That
 *   case needs the plugin: from the repository's node_modules (a devDependency) or, until it is
 *   one, from the directory named by KEYWARD_TEST_BABEL_PLUGIN; without either it is skipped.
 */
import { spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { childEnv, isolatedTempDir, linkFromRepo, type Result } from '../package/_consumer.js'
import { packedPackage } from '../package/_global-pack.js'
import { packageJson, ROOT } from '../package/_entries.js'

const BUILD_MS = 240_000
const JEST_MS = 120_000
const JEST = join(ROOT, 'node_modules/jest/bin/jest.js')
const PLUGIN = '@babel/plugin-transform-modules-commonjs'
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
/** Jest loads ES modules with require() natively from Node 24.9 (its own error message says so). */
const JEST_REQUIRES_ESM = major > 24 || (major === 24 && minor >= 9)

const pluginDir = [join(ROOT, 'node_modules', PLUGIN), process.env.KEYWARD_TEST_BABEL_PLUGIN].find(
  (d): d is string => d !== undefined && d !== '' && existsSync(join(d, 'package.json')),
)

const work = isolatedTempDir('keyward-jest-')
const consumer = join(work, 'consumer')
/** A project with no Jest configuration, sharing the consumer's node_modules. */
const bare = join(work, 'bare')

/** Runs a command with a deadline; on expiry the child (and only it) is killed. */
function run(command: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: childEnv({ CI: 'true' }), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.on('close', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })
}

async function runOk(command: string, args: readonly string[], cwd: string, timeoutMs = BUILD_MS): Promise<Result> {
  const r = await run(command, args, cwd, timeoutMs)
  if (r.status !== 0) throw new Error(`\`${command} ${args.join(' ')}\` exited ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`)
  return r
}

/** The example project, with the tarball installed offline and the test tools linked. */
async function installExample(tarball: string): Promise<void> {
  cpSync(join(ROOT, 'examples/jest-consumer'), consumer, { recursive: true })
  // Only keyward is installed; the example's other dependencies come from the repository.
  writeFileSync(join(consumer, 'package.json'), `${JSON.stringify({ name: 'keyward-jest-consumer', private: true }, null, 2)}\n`)
  for (const dep of Object.keys(packageJson().dependencies ?? {})) {
    cpSync(join(ROOT, 'node_modules', dep), join(consumer, 'node_modules', dep), { recursive: true, dereference: true })
  }
  const cache = join(work, 'npm-cache-empty')
  mkdirSync(cache)
  await runOk('npm', ['install', '--offline', '--cache', cache, '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', tarball], consumer)
  linkFromRepo(consumer, ['express', 'koa', 'hono', 'supertest', 'babel-jest'])
  cpSync(join(ROOT, 'test/testing/fixtures/bare-jest'), bare, { recursive: true })
  writeFileSync(join(bare, 'package.json'), `${JSON.stringify({ name: 'keyward-bare-jest', private: true }, null, 2)}\n`)
  symlinkSync(join(consumer, 'node_modules'), join(bare, 'node_modules'), 'junction')
  if (pluginDir !== undefined && !existsSync(join(consumer, 'node_modules', PLUGIN))) {
    mkdirSync(join(consumer, 'node_modules/@babel'), { recursive: true })
    symlinkSync(pluginDir, join(consumer, 'node_modules', PLUGIN), 'junction')
  }
}

interface FileResult {
  readonly name: string
  readonly status: string
  readonly message: string
  readonly assertionResults: readonly { readonly title: string; readonly status: string }[]
}

interface JestReport {
  readonly success: boolean
  readonly numPassedTests: number
  readonly numFailedTests: number
  readonly numRuntimeErrorTestSuites: number
  readonly testResults: readonly FileResult[]
}

let runs = 0
/** Runs the repository's Jest (in band: one process); `nodeFlags` go to Node, `args` to Jest. */
async function jest(nodeFlags: readonly string[], args: readonly string[], cwd = consumer): Promise<{ report: JestReport; output: string }> {
  const out = join(work, `jest-${++runs}.json`)
  const r = await run(
    process.execPath,
    [...nodeFlags, JEST, '--ci', '--runInBand', '--no-watchman', '--cacheDirectory', join(work, 'jest-cache'), '--json', '--outputFile', out, ...args],
    cwd,
    JEST_MS,
  )
  const output = `${r.stdout}\n${r.stderr}`
  if (!existsSync(out)) throw new Error(`jest wrote no report (exit ${r.status})\n${output}`)
  return { report: JSON.parse(readFileSync(out, 'utf8')) as JestReport, output }
}

const titles = (files: readonly FileResult[]) => files.flatMap((f) => f.assertionResults.map((a) => `${a.status}: ${a.title}`)).sort()

/**
 * One Jest run, without Node flags, for every CommonJS case: the bare project (no configuration)
 * and, when the Babel plugin is there, the example's babel-jest configuration, as two Jest
 * projects. Each project keeps its own configuration (none, or jest.config.cjs); each test reads
 * the results of its own test files. Started by the first test that needs it.
 */
let commonJsRun: ReturnType<typeof jest> | undefined
const commonJs = () =>
  (commonJsRun ??= jest([], ['--projects', bare, ...(pluginDir === undefined ? [] : [join(consumer, 'jest.config.cjs')])]))

/** The results of the test files under `dir` whose names match `pattern`, and their Jest output. */
function filesOf(report: JestReport, dir: string, pattern: RegExp): FileResult[] {
  const files = report.testResults.filter((f) => f.name.startsWith(`${dir}/`) && pattern.test(f.name))
  expect(files.length, `no Jest results for ${pattern} under ${dir}`).toBeGreaterThan(0)
  return files
}

beforeAll(async () => {
  mkdirSync(consumer, { recursive: true })
  // Built and packed once per run by the globalSetup (test/package/_global-pack.ts).
  const packed = await packedPackage()
  await installExample(packed.tarball)
}, BUILD_MS)

afterAll(() => {
  rmSync(work, { recursive: true, force: true })
})

describe('keyward/testing under Jest, installed from the packed package', () => {
  it('passes in CommonJS with no Jest configuration at all, for keyward, keyward/testing and the adapters, every scheme but JWT', async () => {
    const { report } = await commonJs()
    const files = filesOf(report, bare, /schemes\.test\.cjs$/)
    expect(files.map((f) => ({ status: f.status, message: f.message }))).toEqual([{ status: 'passed', message: '' }])
    expect(titles(files)).toEqual([
      'passed: Express, Koa and Hono guards allow a Read Only key to read and refuse it to write',
      'passed: keyward makes, parses and hashes keys',
      ...['api-key', 'basic', 'bearer', 'contrast', 'rest-api-key', 'ssapi'].map((s) => `passed: the kit authenticates a ${s} key, then not once it is deactivated`),
    ])
  }, JEST_MS)

  it.runIf(!JEST_REQUIRES_ESM)('fails for JWT in CommonJS with no configuration: Jest cannot require() jose, an ES module', async () => {
    const { report } = await commonJs()
    const files = filesOf(report, bare, /jwt\.test\.cjs$/)
    // One test failed, and the file itself loaded (a failing test, not a suite that could not run).
    expect(files.map((f) => ({ status: f.status, failed: f.assertionResults.filter((a) => a.status === 'failed').length }))).toEqual([{ status: 'failed', failed: 1 }])
    const output = files[0]!.message
    expect(output).toMatch(/Must use import to load ES Module: \S*node_modules\/jose\//)
    expect(output).not.toMatch(/@noble\/hashes/)
  }, JEST_MS)

  it('passes in native ESM (node --experimental-vm-modules) with no transform', async () => {
    const { report, output } = await jest(['--experimental-vm-modules'], ['--config', 'jest.esm.config.mjs'])
    expect({ success: report.success, failed: report.numFailedTests, output: report.success ? '' : output }).toEqual({ success: true, failed: 0, output: '' })
    expect(titles(report.testResults)).toEqual([
      'passed: a Read Only key cannot start a scan',
      'passed: a Read Only key lists scans',
      'passed: a token minted by the kit is accepted (jose, natively)',
    ])
  }, JEST_MS)

  it.runIf(pluginDir !== undefined)(`passes in CommonJS with jose and @noble/hashes compiled by babel-jest and ${PLUGIN}`, async () => {
    const { report } = await commonJs()
    const files = filesOf(report, consumer, /\.test\.cjs$/)
    expect(files.map((f) => ({ status: f.status, message: f.message }))).toEqual([{ status: 'passed', message: '' }])
    expect(titles(files)).toEqual([
      'passed: a Read Only key cannot start a scan',
      'passed: a Read Only key lists scans',
      'passed: a key stops working when the clock passes its expiry',
      'passed: a key used from outside its allowlist is denied for ip_not_allowed',
      'passed: a token minted by the kit is accepted (jose, through Jest)',
    ])
  }, JEST_MS)

  it('installs both builds of keyward/testing, and says when the CommonJS proof could not run', () => {
    if (pluginDir === undefined) console.warn(`jest.test.ts: ${PLUGIN} not found; the CommonJS-with-babel case was skipped`)
    for (const file of ['testing.cjs', 'testing.js']) expect(existsSync(join(consumer, 'node_modules/keyward/dist', file)), file).toBe(true)
  })
})
