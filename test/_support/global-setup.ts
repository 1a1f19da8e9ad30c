/**
 * Vitest globalSetup: starts the work a few test files share and returns at once, so that it
 * overlaps with the tests; each of those files waits for its result.
 *
 * - The build of `dist/` (unless fresh), for the scratch projects that run snippets against it
 *   (`scratch.ts`) and the tests that use it themselves (`BUILD_CONSUMERS`: the CLI's bin, what a
 *   bundler keeps), and `npm pack`, for the tests that install the package
 *   (`test/package/_global-pack.ts`).
 * - The one type-check of every scratch-project snippet and type-level test, which reads the
 *   built declarations, so it starts once the build has ended (`typecheck.ts`).
 *
 * A run that selects none of those files (`npx vitest run test/net`) starts nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { isolatedTempDir } from '../package/_consumer.js'
import { BUILD_CONSUMERS, buildDist, buildJob, packJob, PACK_CONSUMERS } from '../package/_global-pack.js'
import { selects } from './global-job.js'
import { sharedTypecheckJob, TYPECHECK_CONSUMERS } from './typecheck.js'

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [packs, typechecks, runsBuild] = await Promise.all([selects(project, PACK_CONSUMERS), selects(project, Object.values(TYPECHECK_CONSUMERS)), selects(project, BUILD_CONSUMERS)])
  const built = packs || typechecks || runsBuild ? buildDist() : undefined
  // Awaited by the jobs that need it; this keeps a failed build from being an unhandled rejection meanwhile.
  built?.catch(() => {})
  const stop = new AbortController()
  const jobs: Promise<void>[] = []
  let buildDir: string | null = null
  let packDir: string | null = null
  let typecheckDir: string | null = null
  if (built !== undefined) {
    buildDir = mkdtempSync(join(tmpdir(), 'keyward-build-'))
    jobs.push(buildJob(buildDir, built))
    if (packs) {
      packDir = mkdtempSync(join(tmpdir(), 'keyward-pack-'))
      jobs.push(packJob(packDir, built))
    }
    if (typechecks) {
      // Outside the repository, with no node_modules above it: only the linked packages resolve.
      typecheckDir = isolatedTempDir('keyward-typecheck-')
      jobs.push(sharedTypecheckJob(typecheckDir, built, stop.signal))
    }
  }
  project.provide('keywardBuild', buildDir)
  project.provide('keywardPack', packDir)
  project.provide('keywardTypecheck', typecheckDir)
  return async () => {
    // A run stopped early may end before the jobs do: the type-check is stopped, a build is
    // waited for (stopping it could leave dist/ half written; the build job waits for it), then
    // the folders go.
    stop.abort()
    await Promise.allSettled(jobs)
    for (const dir of [buildDir, packDir, typecheckDir]) if (dir !== null) rmSync(dir, { recursive: true, force: true })
  }
}
