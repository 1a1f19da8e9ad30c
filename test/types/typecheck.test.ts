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
