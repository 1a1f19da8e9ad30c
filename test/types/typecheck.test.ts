/**
 * Runs the type-level tests (`*.typecheck.ts`) through `tsc`, with the project's strict settings
 * but only those files and what they import, so other work in progress elsewhere in the tree
 * cannot make them pass or fail.
 *
 * The files checked with the same options share one `tsc` run (one program: the library is
 * checked once, not once per file), and each test reads the diagnostics of its own file from it.
 * Every `@ts-expect-error` must still be an error in the shared program (tsc reports an unused
 * one), so sharing cannot hide a wrong use; a diagnostic outside the test files (in the library)
 * fails every test of that run, as it did when each file had its own run.
 *
 * A consumer's `exactOptionalPropertyTypes` is checked by the package test, against the installed
 * declarations (`test/package/fixtures/exact-optional.ts.in`): the library's sources do not
 * compile under it, and need not, so a program of its own over them was a second full check.
 */
import { describe, expect, it } from 'vitest'
import { TSC_FLAGS, tsc } from './_tsc.js'

const STRICT_FILES = ['test/types/adapters.typecheck.ts', 'test/types/permissions.typecheck.ts'] as const
let strictRun: ReturnType<typeof tsc> | undefined
/** One `tsc` over every file checked with TSC_FLAGS alone, started by the first test that needs it. */
const strict = () => (strictRun ??= tsc([...TSC_FLAGS, ...STRICT_FILES]))

/** The diagnostics (with their continuation lines) of `file`, and of files that are none of `files`. */
function diagnosticsOf(output: string, file: string, files: readonly string[]): string[] {
  const out: string[] = []
  let mine = false
  for (const line of output.split('\n')) {
    if (line === '') continue
    // A diagnostic starts `path(line,col): error TS…`; indented lines continue it.
    if (!/^\s/.test(line)) mine = line.startsWith(file) || !files.some((f) => line.startsWith(f))
    if (mine) out.push(line)
  }
  return out
}

describe('typed principal (type-level)', () => {
  it('type-checks req.principal, ctx.state.principal and c.get("principal"), and rejects the wrong uses', async () => {
    const { code, output } = await strict()
    expect(diagnosticsOf(output, 'test/types/adapters.typecheck.ts', STRICT_FILES)).toEqual([])
    expect(code === 0 || diagnosticsOf(output, 'test/types/permissions.typecheck.ts', STRICT_FILES).length > 0, `tsc exited ${code}`).toBe(true)
  }, 120_000)
})

describe('typed permissions (type-level)', () => {
  it('rejects a misspelt permission in need(), authorize(), every guard and principal.can(), and takes any string where roles are not static', async () => {
    const { code, output } = await strict()
    expect(diagnosticsOf(output, 'test/types/permissions.typecheck.ts', STRICT_FILES)).toEqual([])
    expect(code === 0 || diagnosticsOf(output, 'test/types/adapters.typecheck.ts', STRICT_FILES).length > 0, `tsc exited ${code}`).toBe(true)
  }, 120_000)
})
