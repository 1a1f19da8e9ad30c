/**
 * One type-check for the README, guide and recipe snippets of every scratch-project test and for
 * the type-level tests (`test/types/*.typecheck.ts`), instead of one `tsc` per test file. Each of
 * those programs imports keyward by package name, and here that name resolves to the built
 * declarations (`dist/*.d.ts`), as it does in a user's project: a program that compiled against
 * the sources compiles here, and the library is not type-checked again by every program (the
 * build type-checks it, `scripts/build-types.ts`): about 17 s of CPU on 2 cores, where the two
 * `tsc` runs over the sources it replaces took 46 s, measured back to back.
 *
 * The globalSetup (`global-setup.ts`) writes one project, with each test file's programs in their
 * own folder (`quickstart/express.ts`, `recipes/contrast-1.ts`, `types/permissions.typecheck.ts`,
 * …), and once `dist/` is built starts the check without waiting for it; {@link sharedTypecheck}
 * waits for the result and returns a test file's share of it: the diagnostics in its own folder,
 * with the folder removed from their paths, and any outside every folder, which belong to every
 * share.
 *
 * Two programs, checked in one process (`check-types.mjs`, files parsed once for both):
 * - the snippets, with the compiler options of a scratch project (`scratch.ts`): strict,
 *   `bundler` resolution, `skipLibCheck`. The programs are modules (each imports keyward), so none
 *   sees another's declarations;
 * - the type-level tests, with the repository's own options (`tsconfig.json`, whose `paths` map
 *   the same package names to the sources for an editor and `npm run typecheck`).
 */
import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { inject } from 'vitest'
import { resultIn, writeResult } from './global-job.js'
import { installBuild, ROOT } from './scratch.js'
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
  types: 'test/types/typecheck.test.ts',
} as const

/** A folder of the shared project. */
export type TypecheckGroup = keyof typeof TYPECHECK_CONSUMERS

/** The type-level test files (`test/types/*.typecheck.ts`): file name to source. */
export function typeLevelFiles(): Record<string, string> {
  const dir = join(ROOT, 'test/types')
  return Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith('.typecheck.ts')).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]))
}

/** Every group's programs: file name (with extension) to source. */
function groups(): Record<TypecheckGroup, Record<string, string>> {
  const ts = (programs: Record<string, string>) => Object.fromEntries(Object.entries(programs).map(([n, code]) => [`${n}.ts`, code]))
  return {
    quickstart: ts({ express: QS_EXPRESS, koa: QS_KOA, hono: QS_HONO, fastify: QS_FASTIFY }),
    'admin-readme': ts({ hono: `${AR_SETUP}\n${AR_HONO}`, express: `${AR_SETUP}\n${AR_EXPRESS}`, koa: `${AR_SETUP}\n${AR_KOA}` }),
    migrate: ts({ 'passport-before': PASSPORT_BEFORE, 'passport-after': PASSPORT_AFTER, 'hono-before': HONO_BEFORE, 'hono-after': HONO_AFTER }),
    recipes: ts(recipePrograms().programs),
    testing: Object.fromEntries(Object.entries(TESTING_SNIPPETS).map(([file, { code }]) => [file, code])),
    types: typeLevelFiles(),
  }
}

/** What the programs import besides keyward, linked from the repository's node_modules. */
const DEPENDENCIES = ['express', 'koa', 'hono', '@hono', 'fastify', 'fastify-plugin', '@types', 'passport', 'passport-headerapikey', 'passport-strategy', 'supertest', 'vitest']

/** The two programs' tsconfig files in the project, and whether a group's files belong to the second. */
const SNIPPETS_CONFIG = 'tsconfig.json'
const TYPE_LEVEL_CONFIG = 'tsconfig.types.json'
const typeLevel = (group: string): boolean => group === 'types'

/** The outcome of the shared run, as written to `result.json`: every diagnostic, as `tsc --pretty false` prints them. */
interface Result {
  readonly code: number
  readonly output: string
}

/** Writes the project into `dir`: keyward's package.json and `dist/` (linked), the dependencies, the programs and both tsconfig files. */
function writeProject(dir: string): void {
  installBuild(dir, DEPENDENCIES)
  const files: Record<string, string[]> = { [SNIPPETS_CONFIG]: [], [TYPE_LEVEL_CONFIG]: [] }
  for (const [group, programs] of Object.entries(groups())) {
    mkdirSync(join(dir, group))
    for (const [file, code] of Object.entries(programs)) {
      writeFileSync(join(dir, group, file), code)
      files[typeLevel(group) ? TYPE_LEVEL_CONFIG : SNIPPETS_CONFIG]!.push(`${group}/${file}`)
    }
  }
  const scratch = { strict: true, target: 'es2022', module: 'esnext', moduleResolution: 'bundler', types: ['node'], skipLibCheck: true, noEmit: true }
  writeFileSync(join(dir, SNIPPETS_CONFIG), JSON.stringify({ compilerOptions: scratch, files: files[SNIPPETS_CONFIG] }))
  // The repository's options, without the `paths` that point keyward at the sources.
  writeFileSync(join(dir, TYPE_LEVEL_CONFIG), JSON.stringify({ extends: join(ROOT, 'tsconfig.json'), compilerOptions: { paths: {} }, include: [], files: files[TYPE_LEVEL_CONFIG] }))
}

/** Runs both programs' check; `output` lists every diagnostic, `code` is 0 when there is none. */
function check(dir: string, signal: AbortSignal): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'test/_support/check-types.mjs'), dir, SNIPPETS_CONFIG, TYPE_LEVEL_CONFIG], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], signal })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', (e) => resolve({ code: -1, output: `could not run the type-check: ${e.message}` }))
    child.on('close', (code, killedBy) => {
      if (code !== 0 || killedBy !== null) return resolve({ code: code ?? -1, output: `the type-check ended with ${killedBy ?? `exit ${code}`}\n${stderr}` })
      const report = JSON.parse(stdout) as Record<string, { diagnostics: string[] }>
      const diagnostics = Object.values(report).flatMap((r) => r.diagnostics)
      resolve({ code: diagnostics.length === 0 ? 0 : 2, output: diagnostics.join('\n') })
    })
  })
}

/**
 * Writes the project into `dir` and, once `built` resolves (`dist/` is built), checks it;
 * `result.json` appears in `dir` when the check ends (written whole, then renamed). A failed build
 * is the result of every share. Returns the job, for the teardown to wait for; `signal` stops it.
 */
export async function sharedTypecheckJob(dir: string, built: Promise<unknown>, signal: AbortSignal): Promise<void> {
  let result: Result
  try {
    writeProject(dir)
    await built
    signal.throwIfAborted()
    result = await check(dir, signal)
  } catch (e) {
    result = { code: -1, output: `no type-check: ${e instanceof Error ? e.message : String(e)}` }
  }
  writeResult(dir, result)
}

/**
 * The diagnostics of `output` (each with its indented continuation lines) whose path starts with
 * `mine`, and those whose path starts with none of `all`: one file's or folder's share of a run.
 */
export function diagnosticsOf(output: string, mine: string, all: readonly string[]): string[] {
  const out: string[] = []
  let kept = false
  for (const line of output.split('\n')) {
    if (line === '') continue
    // A diagnostic starts `path(line,col): error TS…`; indented lines continue it.
    if (!/^\s/.test(line)) kept = line.startsWith(mine) || !all.some((p) => line.startsWith(p))
    if (kept) out.push(line)
  }
  return out
}

/** Lines of `output` in `group`'s folder (that folder taken off their paths) or outside every group's. */
export function shareOf(output: string, group: string, all: readonly string[]): string {
  const folder = `${group}/`
  return diagnosticsOf(output, folder, all.map((g) => `${g}/`))
    .map((line) => (line.startsWith(folder) ? line.slice(folder.length) : line))
    .join('\n')
}

/**
 * This test file's share of the shared run, after checking that it type-checked exactly
 * `programs`: `output` holds only its own diagnostics (paths relative to its folder, as in a
 * project of its own) and those outside every folder (in keyward's declarations, a configuration
 * error, a failed build); `code` is the run's, or 0 when every diagnostic belongs to other files
 * (their tests fail for them).
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
