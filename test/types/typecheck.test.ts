/**
 * Runs the type-level test of the adapters (`adapters.typecheck.ts`) through `tsc`, with the
 * project's strict settings but only that file and what it imports, so other work in progress
 * elsewhere in the tree cannot make it pass or fail.
 */
import { describe, expect, it } from 'vitest'
import { TSC_FLAGS, tsc } from './_tsc.js'

describe('typed principal (type-level)', () => {
  it('type-checks req.principal, ctx.state.principal and c.get("principal"), and rejects the wrong uses', async () => {
    const { code, output } = await tsc([...TSC_FLAGS, 'test/types/adapters.typecheck.ts'])
    expect(output).toBe('')
    expect(code).toBe(0)
  }, 120_000)
})

describe('typed permissions (type-level)', () => {
  it('rejects a misspelt permission in need(), authorize(), every guard and principal.can(), and takes any string where roles are not static', async () => {
    const { code, output } = await tsc([...TSC_FLAGS, 'test/types/permissions.typecheck.ts'])
    expect(output).toBe('')
    expect(code).toBe(0)
  }, 120_000)
})

describe('options under exactOptionalPropertyTypes (type-level)', () => {
  it('accepts the documented `pepper: process.env.KEYWARD_PEPPER`', async () => {
    const { output } = await tsc([...TSC_FLAGS, '--exactOptionalPropertyTypes', 'test/types/exact-optional.typecheck.ts'])
    // Only this file's errors count: the flag is the consumer's, not the library's own setting.
    expect(output.split('\n').filter((l) => l.includes('exact-optional.typecheck.ts'))).toEqual([])
  }, 120_000)
})
