/**
 * What the globalSetup's background jobs (`global-setup.ts`: the build, the pack, the shared
 * type-check) and the test files that wait for them share: whether the run selects any of those
 * files, and a result file each job writes and those files wait for.
 *
 * The result is written whole, then renamed into place, so a reader never sees half of it; the
 * reader polls for it, and its test or hook timeout bounds the wait.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join, normalize } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { TestProject } from 'vitest/node'
import { ROOT } from '../package/_entries.js'

/** Whether this run selects one of `files` (every file, when unfiltered). */
export async function selects(project: TestProject, files: readonly string[]): Promise<boolean> {
  // The CLI's file filters; where this Vitest keeps them elsewhere, assume selected (slower, never wrong).
  const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern
  if (!Array.isArray(filters) || filters.length === 0) return true
  const { testFiles } = await project.globTestFiles(filters)
  const wanted = files.map((f) => normalize(join(ROOT, f)))
  return testFiles.some((f) => wanted.includes(normalize(f)))
}

/** Writes `value` as `dir/result.json`, whole. */
export function writeResult(dir: string, value: unknown): void {
  writeFileSync(join(dir, 'result.json.tmp'), JSON.stringify(value))
  renameSync(join(dir, 'result.json.tmp'), join(dir, 'result.json'))
}

/** `dir/result.json`, once it is there. */
export async function resultIn<T>(dir: string): Promise<T> {
  const file = join(dir, 'result.json')
  while (!existsSync(file)) await sleep(100)
  return JSON.parse(readFileSync(file, 'utf8')) as T
}
