/**
 * The build and the pack of the package, once per run, for every test that installs the tarball
 * as a user would (`PACK_CONSUMERS`), for the scratch projects that run snippets against the
 * build (`test/_support/scratch.ts`) and for the shared type-check, which reads the built
 * declarations (`test/_support/typecheck.ts`), instead of each of them building on its own.
 * Started by the globalSetup (`test/_support/global-setup.ts`); a run that selects none of those
 * files (`npx vitest run test/core`) builds nothing.
 *
 * The build and the pack run alongside the tests, not before them: the setup starts them, returns
 * at once and provides the folder where `result.json` appears when they end (written whole, then
 * renamed); {@link packedPackage} waits for it. Every other test waited out the build (about
 * 18 s on 2 cores) when the setup awaited it (`npm test` on a fresh clone, or after any source
 * change).
 *
 * `dist/` is reused, not rebuilt, when `scripts/build.ts` stamped it as built from exactly the
 * current sources, configuration and lockfile and it is unchanged since (content hashes): CI's
 * `npm run build` before `npm test`, or a second run with no source change, builds once. Any
 * difference rebuilds; a stale `dist/` is never tested.
 */
import { inject } from 'vitest'
import { isFresh } from '../../scripts/build.js'
import { resultIn, writeResult } from '../_support/global-job.js'
import { pack, runOk, type Packed } from './_consumer.js'
import { ROOT } from './_entries.js'

/** The test files that install the packed package. */
export const PACK_CONSUMERS = ['test/package/package.test.ts', 'test/testing/jest.test.ts'] as const

/** The test files that use the build itself (besides the pack's and the type-check's): the package's bin (`dist/cli.js`), and what a bundler keeps of `dist/`. */
export const BUILD_CONSUMERS = ['test/cli/process.test.ts', 'test/package/weight.test.ts'] as const

/** What making `dist/` took, and whether it was reused as it was. */
export interface Built {
  readonly ms: number
  readonly reused: boolean
}

/** The tarball `npm pack` wrote this run, its files, and what the build and the pack took. */
export type PackedPackage = Packed & { readonly timings: Readonly<Record<'build' | 'pack', number>>; readonly reusedBuild: boolean }

/** What `result.json` holds: the package, or why there is none. */
type Result = { readonly ok: true; readonly packed: PackedPackage } | { readonly ok: false; readonly error: string }

declare module 'vitest' {
  export interface ProvidedContext {
    /** The folder where this run's build and pack write `result.json`; `null` when no selected test needs it. */
    keywardPack: string | null
    /** The folder where this run's build writes `result.json`; `null` when no selected test needs it. */
    keywardBuild: string | null
  }
}

/** What the build's `result.json` holds. */
type BuildResult = ({ readonly ok: true } & Built) | { readonly ok: false; readonly error: string }

/** Builds `dist/` unless it is fresh; rejects with the build's output when it fails. */
export async function buildDist(): Promise<Built> {
  const t0 = performance.now()
  const reused = isFresh()
  if (!reused) await runOk('npm', ['run', 'build'], { cwd: ROOT })
  return { ms: Math.round(performance.now() - t0), reused }
}

/** Once `built` settles, writes its outcome to `dir/result.json`, for {@link builtDist}. */
export async function buildJob(dir: string, built: Promise<Built>): Promise<void> {
  let result: BuildResult
  try {
    result = { ok: true, ...(await built) }
  } catch (e) {
    result = { ok: false, error: e instanceof Error ? e.message : String(e) }
  }
  writeResult(dir, result)
}

/**
 * Resolves once this run's `dist/` is built (or found fresh) by the globalSetup, for the tests
 * that run or type-check against it; throws what made the build fail.
 */
export async function builtDist(): Promise<Built> {
  const dir = inject('keywardBuild')
  if (dir === null) throw new Error('no build: run through vitest.config.ts, whose globalSetup builds dist/ for the files it lists (test/_support/typecheck.ts, PACK_CONSUMERS, BUILD_CONSUMERS)')
  // Polled, not timed: the hook's own timeout bounds the wait.
  const result = await resultIn<BuildResult>(dir)
  if (!result.ok) throw new Error(`dist/ could not be built: ${result.error}`)
  return result
}

/** Once `built` resolves, packs into `dir`, and writes the outcome to `dir/result.json`. */
export async function packJob(dir: string, built: Promise<Built>): Promise<void> {
  let result: Result
  try {
    const build = await built
    const t1 = performance.now()
    const packed = await pack(dir)
    result = { ok: true, packed: { ...packed, timings: { build: build.ms, pack: Math.round(performance.now() - t1) }, reusedBuild: build.reused } }
  } catch (e) {
    result = { ok: false, error: e instanceof Error ? e.message : String(e) }
  }
  writeResult(dir, result)
}

/**
 * The package this run built and packed, once the globalSetup's build and pack have ended (the
 * calling hook's timeout bounds the wait); throws what made them fail.
 */
export async function packedPackage(): Promise<PackedPackage> {
  const dir = inject('keywardPack')
  if (dir === null) throw new Error('no packed package: run through vitest.config.ts, whose globalSetup packs it')
  // Polled, not timed: the hook's own timeout bounds the wait.
  const result = await resultIn<Result>(dir)
  if (!result.ok) throw new Error(`the package could not be built and packed: ${result.error}`)
  return result.packed
}
