/**
 * The API reference (`npm run docs`, TypeDoc over the TSDoc of every public entry point) builds
 * with no warning: no public export, method or option without documentation, no broken
 * `{@link}`, no type referenced by the API but missing from it. Validation only (`--emit none`).
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

describe('the API reference', () => {
  it('builds from the TSDoc with no warning about missing docs or broken links', async () => {
    const { code, output } = await typedoc()
    expect(output.split('\n').filter((l) => /warning|error/i.test(l))).toEqual([])
    expect(code, output).toBe(0)
  }, 420_000)
})
