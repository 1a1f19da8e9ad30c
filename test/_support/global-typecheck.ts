/**
 * Vitest globalSetup: starts the one `tsc` run shared by the scratch-project tests
 * (`typecheck.ts`) and returns at once, so it overlaps with the tests; each of those tests waits
 * for it. A run that selects none of them (`npx vitest run test/net`) starts nothing.
 */
import { rmSync } from 'node:fs'
import type { TestProject } from 'vitest/node'
import { isolatedTempDir } from '../package/_consumer.js'
import { selects } from './global-job.js'
import { startSharedTypecheck, TYPECHECK_CONSUMERS } from './typecheck.js'

export default async function setup(project: TestProject): Promise<() => void> {
  if (!(await selects(project, Object.values(TYPECHECK_CONSUMERS)))) {
    project.provide('keywardTypecheck', null)
    return () => {}
  }
  // Outside the repository, with no node_modules above it: only the linked packages resolve.
  const dir = isolatedTempDir('keyward-typecheck-')
  const child = startSharedTypecheck(dir)
  project.provide('keywardTypecheck', dir)
  return () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}
