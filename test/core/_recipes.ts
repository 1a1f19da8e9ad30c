/**
 * How each ```ts block of the product recipes is checked: `recipes.test.ts` fails for a block this
 * table does not cover. A block is either found verbatim (modulo leading indentation) in a runnable
 * example, or type-checked with strict settings and then run in a fresh project under a small
 * prelude (a real in-memory store and manager), importing keyward by package name.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '../_support/scratch.js'
import { EXPRESS } from '../adapters/_quickstart.js'

/** One block's check: its example (verbatim), or the prelude it type-checks and runs under. */
export type Coverage = { readonly example: string } | { readonly prelude: string }

const BASE = `import { createAuthorizer, KeyManager, MemoryKeyStore, schemes } from 'keyward'
const store = new MemoryKeyStore()
const manager = new KeyManager(store)
`

/** Rapid7 InsightAppSec: the block makes its own manager, which must know the Trial role. */
const INSIGHTAPPSEC = `import { createAuthorizer, insightAppSecRoles, KeyManager, MemoryKeyStore, schemes } from 'keyward'
import { createAdminHandler } from 'keyward/admin'
const store = new MemoryKeyStore()
`

/** Every recipe page and README.md, each with one entry per ```ts block, in page order. */
export const COVERAGE: Readonly<Record<string, readonly Coverage[]>> = {
  'docs/products/attackforge.md': [{ prelude: BASE }, { example: 'examples/attackforge.ts' }],
  'docs/products/contrast.md': [{ prelude: BASE }, { prelude: BASE }],
  'docs/products/insightappsec.md': [{ prelude: INSIGHTAPPSEC }],
  'docs/products/ivanti.md': [{ prelude: BASE }], // the block imports tenantFromHost itself
}

/** The ```ts blocks of a Markdown page, in order, each with the page line its code starts on. */
export function tsBlocks(markdown: string): { code: string; line: number }[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => ({
    code: m[1]!,
    line: markdown.slice(0, m.index).split('\n').length + 1,
  }))
}

/**
 * Rewrites `<file>.ts(L,C)` and `[<dir>/]<file>.ts:L` in compiler or runtime output to the recipe page and
 * line they come from, given each scratch file's page, first code line and prelude length.
 */
export function toPageLines(output: string, origins: Readonly<Record<string, { page: string; line: number; prelude: number }>>): string {
  return output.replace(/(?:[^\s(]*\/)?([\w-]+)\.ts(?:\((\d+),\d+\)|:(\d+))/g, (all, name: string, a?: string, b?: string) => {
    const o = Object.hasOwn(origins, name) ? origins[name] : undefined
    if (o === undefined) return all
    const at = Number(a ?? b) - o.prelude
    return at < 1 ? all : `${o.page}:${o.line + at - 1}`
  })
}

/**
 * Where `block` stops matching `source`, comparing lines with leading indentation removed: `undefined`
 * when every line of the block appears, contiguous and in order, in the source; otherwise the first
 * block line that differs at the source position that matches the longest run of the block.
 */
export function firstDrift(block: string, source: string): { line: number; text: string } | undefined {
  const want = block.split('\n').map((l) => l.trimStart()).filter((l, i, all) => l !== '' || i < all.length - 1)
  const have = source.split('\n').map((l) => l.trimStart())
  let best = 0
  for (let start = 0; start < have.length && best < want.length; start++) {
    let n = 0
    while (n < want.length && start + n < have.length && have[start + n] === want[n]) n++
    best = Math.max(best, n)
  }
  return best === want.length ? undefined : { line: best + 1, text: want[best]! }
}

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')

/** Every recipe page, plus README.md (whose only block today is the quick start, checked elsewhere). */
const pages = () => [...readdirSync(join(ROOT, 'docs/products')).filter((f) => f.endsWith('.md')).map((f) => `docs/products/${f}`), 'README.md']

/** A ```ts block: its page, number on the page, code, coverage and the page line it starts on. */
export type Block = [page: string, n: number, code: string, coverage: Coverage | undefined, line: number]

/** Every ```ts block with its coverage and page line, the README quick start excepted. */
export function blocks(): Block[] {
  return pages().flatMap((page) =>
    tsBlocks(read(page))
      .filter((b) => !(page === 'README.md' && b.code === EXPRESS))
      .map((b, i): Block => [page, i + 1, b.code, Object.hasOwn(COVERAGE, page) ? COVERAGE[page]![i] : undefined, b.line]),
  )
}

/** One scratch file name per type-checked block: `<page>-<n>`. */
const fileName = (page: string, n: number) => `${page.replace(/^.*\//, '').replace(/\.md$/, '')}-${n}`

/**
 * The scratch programs of the blocks checked under a prelude (`<page>-<n>` to its prelude, block
 * and `export {}`), and where each one's code lines come from, for {@link toPageLines}.
 */
export function recipePrograms(): {
  programs: Record<string, string>
  origins: Record<string, { page: string; line: number; prelude: number }>
} {
  const programs: Record<string, string> = {}
  const origins: Record<string, { page: string; line: number; prelude: number }> = {}
  for (const [page, n, block, coverage, line] of blocks()) {
    if (coverage === undefined || !('prelude' in coverage)) continue
    programs[fileName(page, n)] = `${coverage.prelude}\n${block}\nexport {}\n`
    origins[fileName(page, n)] = { page, line, prelude: coverage.prelude.split('\n').length }
  }
  return { programs, origins }
}
