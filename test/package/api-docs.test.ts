/**
 * The API reference (`npm run docs`, TypeDoc over the TSDoc of every public entry point) builds
 * with no warning: no public export, method or option without documentation, no broken
 * `{@link}`, no type referenced by the API but missing from it. Validation only (`--emit none`).
 *
 * TypeDoc takes 75 to 180 s of CPU, more than the rest of a test file's budget, so `npm test`
 * skips it and says so; `npm run docs:check` runs it (with `KEYWARD_DOCS_CHECK=1`), and CI
 * (`.ci/run`) runs `npm run docs:check` as a step of its own.
 *
 * Source links come from `sourceLinkTemplate` with `disableGit` (typedoc.json), not from the
 * clone's git remote: a clone with no remote, or one TypeDoc cannot read as a GitHub remote,
 * would otherwise warn "git remote ... was not valid" and fail this check for a reason that is
 * not the documentation's.
 */
import { execFile } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { ROOT } from './_entries.js'

function typedoc(): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`${ROOT}node_modules/typedoc/bin/typedoc`, '--emit', 'none', '--logLevel', 'Warn'],
      { cwd: ROOT, timeout: 400_000, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}` }),
    )
  })
}

const RUN = process.env.KEYWARD_DOCS_CHECK === '1'
if (!RUN) console.warn('[keyward] API reference check skipped: TypeDoc takes minutes of CPU, so it runs as `npm run docs:check` (CI runs it as its own step)')

describe('the API reference', () => {
  it.runIf(RUN)('builds from the TSDoc with no warning about missing docs or broken links', async () => {
    const { code, output } = await typedoc()
    expect(output.split('\n').filter((l) => /warning|error/i.test(l))).toEqual([])
    expect(code, output).toBe(0)
  }, 420_000)
})
