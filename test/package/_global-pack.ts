/**
 * Vitest globalSetup: builds the package and packs it once per run, for every test that installs
 * the tarball as a user would (`PACK_CONSUMERS`), instead of each of them building and packing on
 * its own. The tarball's path and file list reach those tests through `provide`/`inject`
 * (`inject('keywardPacked')`). A run that selects none of them (`npx vitest run test/core`)
 * builds nothing.
 *
 * `dist/` is reused, not rebuilt, when `scripts/build.ts` stamped it as built from exactly the
 * current sources, configuration and lockfile and it is unchanged since (content hashes): CI's
 * `npm run build` before `npm test`, or a second run with no source change, builds once. Any
 * difference rebuilds; a stale `dist/` is never tested.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, normalize } from 'node:path'
import type { TestProject } from 'vitest/node'
import { isFresh } from '../../scripts/build.js'
import { pack, runOk, type Packed } from './_consumer.js'
import { ROOT } from './_entries.js'

/** The test files that install the packed package. */
export const PACK_CONSUMERS = ['test/package/package.test.ts', 'test/testing/jest.test.ts'] as const

declare module 'vitest' {
  export interface ProvidedContext {
    /** The tarball `npm pack` wrote this run, and its files; `null` when no selected test needs it. */
    keywardPacked: (Packed & { readonly timings: Readonly<Record<'build' | 'pack', number>>; readonly reusedBuild: boolean }) | null
  }
}

/** Whether this run selects a test that installs the tarball (every test, when unfiltered). */
async function selectsPackConsumer(project: TestProject): Promise<boolean> {
  // The CLI's file filters; where this Vitest keeps them elsewhere, pack (slower, never wrong).
  const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern
  if (!Array.isArray(filters) || filters.length === 0) return true
  const { testFiles } = await project.globTestFiles(filters)
  const wanted = PACK_CONSUMERS.map((f) => normalize(join(ROOT, f)))
  return testFiles.some((f) => wanted.includes(normalize(f)))
}

export default async function setup(project: TestProject): Promise<() => void> {
  if (!(await selectsPackConsumer(project))) {
    project.provide('keywardPacked', null)
    return () => {}
  }
  const dir = mkdtempSync(join(tmpdir(), 'keyward-pack-'))
  const t0 = performance.now()
  const reusedBuild = isFresh()
  if (!reusedBuild) await runOk('npm', ['run', 'build'], { cwd: ROOT })
  const t1 = performance.now()
  const packed = await pack(dir)
  const timings = { build: Math.round(t1 - t0), pack: Math.round(performance.now() - t1) }
  project.provide('keywardPacked', { ...packed, timings, reusedBuild })
  return () => rmSync(dir, { recursive: true, force: true })
}
