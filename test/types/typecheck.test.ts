/**
 * The type-level tests (`*.typecheck.ts`), type-checked with the repository's strict options
 * against the built declarations, as a user's project sees keyward: they import it by package
 * name, which `tsconfig.json` maps to the sources for an editor and `npm run typecheck`, and which
 * resolves to `dist/` here.
 *
 * They are checked in the shared type-check of the run (`test/_support/typecheck.ts`), one
 * program for every type-level file, and each test reads the diagnostics of its own file from it.
 * Every `@ts-expect-error` must still be an error in that program (an unused one is reported), so
 * sharing cannot hide a wrong use; a diagnostic outside the test files (in keyward's declarations,
 * the configuration, a failed build) fails every test.
 *
 * A consumer's `exactOptionalPropertyTypes` is checked by the package test, against the installed
 * declarations (`test/package/fixtures/exact-optional.ts.in`).
 */
import { describe, expect, it } from 'vitest'
import { diagnosticsOf, sharedTypecheck, typeLevelFiles } from '../_support/typecheck.js'

const FILES = typeLevelFiles()
let run: ReturnType<typeof sharedTypecheck> | undefined
/** This file's share of the run's type-check, read once. */
const share = () => (run ??= sharedTypecheck('types', FILES))

/** Fails on a diagnostic of `file` (or outside every type-level file); another file's diagnostics fail that file's test. */
async function expectCompiles(file: string): Promise<void> {
  const { code, output } = await share()
  const names = Object.keys(FILES)
  expect(diagnosticsOf(output, file, names)).toEqual([])
  expect(code === 0 || names.some((other) => other !== file && diagnosticsOf(output, other, names).length > 0), `the type-check ended with code ${code}`).toBe(true)
}

describe('typed principal (type-level)', () => {
  it('type-checks req.principal, ctx.state.principal and c.get("principal"), and rejects the wrong uses', async () => {
    await expectCompiles('adapters.typecheck.ts')
  }, 120_000)
})

describe('typed permissions (type-level)', () => {
  it('rejects a misspelt permission in need(), authorize(), every guard and principal.can(), and takes any string where roles are not static', async () => {
    await expectCompiles('permissions.typecheck.ts')
  }, 120_000)
})

describe('the type-level files', () => {
  it('are the ones this file tests, each by name', () => {
    expect(Object.keys(FILES)).toEqual(['adapters.typecheck.ts', 'permissions.typecheck.ts'])
  })
})
