/**
 * One `tsc` run for the README, guide and recipe snippets of every scratch-project test, instead
 * of one per test file. Each of those programs imports keyward by package name, with the sources
 * standing in for dist/, so every run used to type-check the whole library again; one program
 * checks it once.
 *
 * The globalSetup (`global-typecheck.ts`) writes one project, with each test file's programs in
 * their own folder (`quickstart/express.ts`, `recipes/contrast-1.ts`, …), starts `tsc` on it
 * without waiting, and provides the folder; {@link sharedTypecheck} waits for the result and
 * returns a test file's share of it: the diagnostics in its own folder, with the folder removed
 * from their paths, and any in the library, which belong to every share.
 *
 * The compiler options are those of a scratch project (`scratch.ts`): strict, `bundler`
 * resolution, `skipLibCheck`. A program that compiled alone compiles here, and a wrong one is
 * reported in its own share; the programs are modules (each imports keyward), so none sees
 * another's declarations.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { inject } from 'vitest'
import { resultIn, writeResult } from './global-job.js'
import { ROOT, SUBPATHS } from './scratch.js'
import { EXPRESS as QS_EXPRESS, FASTIFY as QS_FASTIFY, HONO as QS_HONO, KOA as QS_KOA } from '../adapters/_quickstart.js'
import { EXPRESS as AR_EXPRESS, HONO as AR_HONO, KOA as AR_KOA, SETUP as AR_SETUP } from '../adapters/_admin-readme.js'
import { HONO_AFTER, HONO_BEFORE, PASSPORT_AFTER, PASSPORT_BEFORE } from '../adapters/_migrate.js'
import { recipePrograms } from '../core/_recipes.js'
import { SNIPPETS as TESTING_SNIPPETS } from '../testing/_readme.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The folder of this run's shared type-check project; `null` when no selected test needs it. */
    keywardTypecheck: string | null
  }
}

/** The test files whose programs are type-checked here, and their folders in the project. */
export const TYPECHECK_CONSUMERS = {
  quickstart: 'test/adapters/quickstart.test.ts',
  'admin-readme': 'test/adapters/admin-readme.test.ts',
  migrate: 'test/adapters/migrate.test.ts',
  recipes: 'test/core/recipes.test.ts',
  testing: 'test/testing/readme.test.ts',
} as const

/** A folder of the shared project. */
export type TypecheckGroup = keyof typeof TYPECHECK_CONSUMERS

/** Every group's programs: file name (with extension) to source. */
function groups(): Record<TypecheckGroup, Record<string, string>> {
  const ts = (programs: Record<string, string>) => Object.fromEntries(Object.entries(programs).map(([n, code]) => [`${n}.ts`, code]))
  return {
    quickstart: ts({ express: QS_EXPRESS, koa: QS_KOA, hono: QS_HONO, fastify: QS_FASTIFY }),
    'admin-readme': ts({ hono: `${AR_SETUP}\n${AR_HONO}`, express: `${AR_SETUP}\n${AR_EXPRESS}`, koa: `${AR_SETUP}\n${AR_KOA}` }),
    migrate: ts({ 'passport-before': PASSPORT_BEFORE, 'passport-after': PASSPORT_AFTER, 'hono-before': HONO_BEFORE, 'hono-after': HONO_AFTER }),
    recipes: ts(recipePrograms().programs),
    testing: Object.fromEntries(Object.entries(TESTING_SNIPPETS).map(([file, { code }]) => [file, code])),
  }
}

/** What the programs import besides keyward, linked from the repository's node_modules. */
const DEPENDENCIES = ['express', 'koa', 'hono', '@hono', 'fastify', 'fastify-plugin', '@types', 'passport', 'passport-headerapikey', 'passport-strategy', 'supertest', 'vitest']

/** The outcome of the shared run, as written to `result.json`. */
interface Result {
  readonly code: number
  readonly output: string
}

/**
 * Writes the project into `dir` and starts `tsc` on it; `result.json` appears in `dir` when it
 * ends (written whole, then renamed). Returns the child, for the teardown to stop.
 */
export function startSharedTypecheck(dir: string): ChildProcess {
  const nm = join(dir, 'node_modules')
  mkdirSync(join(nm, 'keyward'), { recursive: true })
  writeFileSync(join(nm, 'keyward/package.json'), JSON.stringify({ name: 'keyward', type: 'module', exports: { ...SUBPATHS, './testing': './src/testing/index.ts' } }))
  symlinkSync(join(ROOT, 'src'), join(nm, 'keyward/src'), 'dir')
  for (const dep of DEPENDENCIES) symlinkSync(join(ROOT, 'node_modules', dep), join(nm, dep), 'dir')
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fresh', private: true, type: 'module' }))
  const files: string[] = []
  for (const [group, programs] of Object.entries(groups())) {
    mkdirSync(join(dir, group))
    for (const [file, code] of Object.entries(programs)) {
      writeFileSync(join(dir, group, file), code)
      files.push(`${group}/${file}`)
    }
  }
  const compilerOptions = { strict: true, target: 'es2022', module: 'esnext', moduleResolution: 'bundler', types: ['node'], skipLibCheck: true, noEmit: true }
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files }))
  const child = spawn(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--pretty', 'false'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  const done = (result: Result) => writeResult(dir, result)
  child.on('error', (e) => done({ code: -1, output: `could not run tsc: ${e.message}` }))
  child.on('close', (code, signal) => done({ code: code ?? -1, output: signal === null ? output : `${output}\ntsc killed by ${signal}` }))
  return child
}

/** Lines of `output` (diagnostics with their indented continuation lines) in `group`'s folder or outside every group's. */
export function shareOf(output: string, group: string, all: readonly string[]): string {
  const out: string[] = []
  let mine = false
  for (const line of output.split('\n')) {
    if (line === '') continue
    if (!/^\s/.test(line)) mine = line.startsWith(`${group}/`) || !all.some((g) => line.startsWith(`${g}/`))
    if (mine) out.push(line.startsWith(`${group}/`) ? line.slice(group.length + 1) : line)
  }
  return out.join('\n')
}

/**
 * This test file's share of the shared run, after checking that it type-checked exactly `programs`: `output` holds only its own and the library's
 * diagnostics (paths relative to its folder, as in a project of its own); `code` is tsc's exit
 * status, or 0 when every diagnostic belongs to other files (their tests fail for them).
 */
export async function sharedTypecheck(group: TypecheckGroup, programs: Readonly<Record<string, string>>): Promise<Result> {
  const dir = inject('keywardTypecheck')
  if (dir === null) throw new Error('no shared type-check: run through vitest.config.ts, whose globalSetup starts it')
  // The shared project must hold exactly the programs the test file runs, under the same names.
  const want = Object.entries(programs).map(([n, code]) => [n.endsWith('.ts') ? n : `${n}.ts`, code] as const).sort(([a], [b]) => (a < b ? -1 : 1))
  const have = readdirSync(join(dir, group)).sort().map((n) => [n, readFileSync(join(dir, group, n), 'utf8')] as const)
  if (JSON.stringify(have) !== JSON.stringify(want)) throw new Error(`the shared type-check of ${group} holds other programs than the test runs: a snippet changed after the run started (run again), or test/_support/typecheck.ts builds them differently from the test`)
  // Polled, not timed: the test's own timeout bounds the wait.
  const result = await resultIn<Result>(dir)
  const output = shareOf(result.output, group, Object.keys(TYPECHECK_CONSUMERS))
  return { code: output === '' && result.output.trim() !== '' ? 0 : result.code, output }
}
