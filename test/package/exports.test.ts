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
 *
 * Documentation is part of the public API, so the same file checks it, from the same
 * TypeScript program (one parse of the sources instead of two): every export of every entry
 * point has a TSDoc comment; every exported function and class has an `@example`; every field of
 * an `…Options` interface is documented with an `@example`, and every optional one with its
 * `@default` (`undocumented()` in `_surface.ts`).
 */
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { publicEntries, ROOT, type Entry } from './_entries.js'
import { declaredExports, publicProgram, undocumented } from './_surface.js'

const entries: Entry[] = await publicEntries()
const withSource = entries.filter((e): e is Entry & { source: string } => e.source !== undefined)

let declared = new Map<string, string[]>()
let docProblems = new Map<string, string[]>()
beforeAll(() => {
  // One TypeScript program for all entries and both checks: parsing src and @types/node once.
  const sources = withSource.map((e) => e.source)
  const program = publicProgram(sources)
  declared = declaredExports(program, sources)
  docProblems = undocumented(program, sources)
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

  it('maps each public entry to its source in tsconfig.json paths (for an editor and npm run typecheck), and nothing else', () => {
    const { compilerOptions } = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: { paths?: Record<string, string[]> } }
    const mapped = Object.entries(compilerOptions.paths ?? {}).map(([specifier, [target]]) => [specifier, target === undefined ? undefined : resolve(ROOT, target)])
    expect(Object.fromEntries(mapped)).toEqual(Object.fromEntries(withSource.map((e) => [e.specifier, e.source])))
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

describe('TSDoc of the public API', () => {
  it.each(withSource.map((e) => [e.subpath, e.source] as const))('documents every export of %s', (_, source) => {
    expect(docProblems.get(source)).toEqual([])
  })

  it('audits something (the check is not vacuous)', () => {
    expect(withSource.length).toBeGreaterThanOrEqual(8)
    expect([...docProblems.keys()]).toEqual(withSource.map((e) => e.source))
  })
})
