/**
 * The public surface of every entry point, snapshotted, so no export is added, renamed or
 * removed without a reviewed snapshot change.
 *
 * Entry points come from tsup.config.ts and package.json `exports` (see _entries.ts), never from
 * a list kept here. A new entry point fails `lists every public entry point` until the inline
 * snapshot below names it; its names then land in __snapshots__/exports.test.ts.snap.
 *
 * To accept a deliberate change: `npx vitest run test/package/exports.test.ts -u`, then review
 * and commit the diff of this file and of the .snap file.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { publicEntries, type Entry } from './_entries.js'
import { declaredExports } from './_surface.js'

const entries: Entry[] = await publicEntries()
const withSource = entries.filter((e): e is Entry & { source: string } => e.source !== undefined)

let declared = new Map<string, string[]>()
beforeAll(() => {
  // One TypeScript program for all entries: parsing src and @types/node once.
  declared = declaredExports(withSource.map((e) => e.source))
})

describe('public entry points', () => {
  it('lists every public entry point (update with -u when one is added on purpose)', () => {
    expect(entries.map((e) => e.subpath)).toMatchInlineSnapshot(`
      [
        ".",
        "./admin",
        "./express",
        "./fastify",
        "./hono",
        "./koa",
        "./otel",
        "./postgres",
        "./redis",
        "./testing",
      ]
    `)
  })

  it('builds every exported subpath: each has a tsup entry whose source exists', () => {
    const unbuilt = entries.filter((e) => e.source === undefined).map((e) => e.subpath)
    expect(unbuilt, 'package.json exports these, but tsup builds nothing for them').toEqual([])
  })

  it('exports every built entry: each tsup entry (but the CLI) is in package.json exports', () => {
    const unexported = entries.filter((e) => e.target === undefined).map((e) => e.subpath)
    expect(unexported, 'tsup builds these, but package.json exports does not list them').toEqual([])
  })
})

describe.each(withSource.map((e) => [e.specifier, e] as const))('%s', (_, entry) => {
  it('exports exactly the snapshotted values and types', async () => {
    const mod = (await import(entry.source)) as Record<string, unknown>
    const values = Object.keys(mod).sort()
    const all = declared.get(entry.source) ?? []
    // Every runtime export must be declared: a value the types do not show is a build bug.
    expect(values.filter((v) => !all.includes(v))).toEqual([])
    const types = all.filter((n) => !values.includes(n))
    expect({ values, types }).toMatchSnapshot()
  })
})
