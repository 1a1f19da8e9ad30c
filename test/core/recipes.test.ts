/**
 * The product recipes (docs/products/*.md, and any ```ts block of README.md besides the quick
 * start) cannot rot: every block is either found verbatim in its runnable example, which
 * `test/adapters/examples.test.ts` calls over HTTP, or type-checked with strict settings and run
 * in a fresh project that imports keyward by package name. A block neither covers fails here.
 */
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, scratchProject } from '../_support/scratch.js'
import { tsc } from '../types/_tsc.js'
import { EXPRESS } from '../adapters/_quickstart.js'
import { COVERAGE, firstDrift, toPageLines, tsBlocks, type Coverage } from './_recipes.js'

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')

/** Every recipe page, plus README.md (whose only block today is the quick start, checked elsewhere). */
const PAGES = [...readdirSync(join(ROOT, 'docs/products')).filter((f) => f.endsWith('.md')).map((f) => `docs/products/${f}`), 'README.md']

type Block = [page: string, n: number, code: string, coverage: Coverage | undefined, line: number]

/** Every ```ts block with its coverage and page line, the README quick start excepted. */
function blocks(): Block[] {
  return PAGES.flatMap((page) =>
    tsBlocks(read(page))
      .filter((b) => !(page === 'README.md' && b.code === EXPRESS))
      .map((b, i): Block => [page, i + 1, b.code, Object.hasOwn(COVERAGE, page) ? COVERAGE[page]![i] : undefined, b.line]),
  )
}

/** One scratch file name per type-checked block: `<page>-<n>`. */
const fileName = (page: string, n: number) => `${page.replace(/^.*\//, '').replace(/\.md$/, '')}-${n}`

describe('the product recipes', () => {
  it('cover every ```ts block of every recipe page, and no block that is not there', () => {
    const found = blocks()
    expect(found.length).toBeGreaterThanOrEqual(4)
    for (const [page, n, , coverage] of found) expect(coverage, `${page} block ${n} is neither in an example nor type-checked`).toBeDefined()
    for (const [page, table] of Object.entries(COVERAGE)) {
      expect(table.length, `${page}: the coverage table lists more blocks than the page has`).toBe(found.filter(([p]) => p === page).length)
    }
  })

  it('are found verbatim in their examples, where they name one', () => {
    let checked = 0
    for (const [page, n, block, coverage] of blocks()) {
      if (coverage === undefined || !('example' in coverage)) continue
      checked++
      const drift = firstDrift(block, read(coverage.example))
      expect(drift, drift && `${page} block ${n} drifts from ${coverage.example} at its line ${drift.line}: ${drift.text}`).toBeUndefined()
    }
    expect(checked).toBeGreaterThan(0)
  })
})

describe('the product recipes, in a fresh project', () => {
  let project = ''
  const programs: Record<string, string> = {}
  const origins: Record<string, { page: string; line: number; prelude: number }> = {}

  beforeAll(() => {
    for (const [page, n, block, coverage, line] of blocks()) {
      if (coverage === undefined || !('prelude' in coverage)) continue
      programs[fileName(page, n)] = `${coverage.prelude}\n${block}\nexport {}\n`
      origins[fileName(page, n)] = { page, line, prelude: coverage.prelude.split('\n').length }
    }
    project = scratchProject('keyward-recipes-', programs)
  })

  afterAll(() => rmSync(project, { recursive: true, force: true }))

  it('type-check with strict settings, importing keyward by package name', async () => {
    expect(Object.keys(programs).length).toBeGreaterThan(0)
    const { code, output } = await tsc(['-p', join(project, 'tsconfig.json')], project)
    expect(toPageLines(output, origins)).toBe('')
    expect(code).toBe(0)
  }, 120_000)

  it('run to completion with a real in-memory store, as a user pasting them would', async () => {
    const runs = Object.keys(programs).map(
      (name) =>
        new Promise<[string, string]>((resolve) => {
          execFile(process.execPath, ['--import', 'tsx', `${name}.ts`], { cwd: project, timeout: 60_000 }, (err, stdout, stderr) =>
            resolve([name, err ? toPageLines(`exit ${String(err.code)}: ${stdout}${stderr}`, origins) : 'ok']),
          )
        }),
    )
    expect(Object.fromEntries(await Promise.all(runs))).toEqual(Object.fromEntries(Object.keys(programs).map((n) => [n, 'ok'])))
  }, 120_000)
})

describe('the verbatim check', () => {
  const example = ['export function f() {', '  const a = 1', '  const b = 2', '  return a + b', '}', ''].join('\n')

  it.each([
    ['the same lines at another indentation', 'const a = 1\nconst b = 2\n', undefined],
    ['a changed line, named with its block line', 'const a = 1\nconst b = 3\n', { line: 2, text: 'const b = 3' }],
    ['a line the example does not have after matching ones', 'const b = 2\nreturn a + b\nreturn 0\n', { line: 3, text: 'return 0' }],
    ['lines out of order', 'const b = 2\nconst a = 1\n', { line: 2, text: 'const a = 1' }],
    ['a first line found nowhere', 'const z = 0\n', { line: 1, text: 'const z = 0' }],
  ])('reports %s', (_name, block, drift) => {
    expect(firstDrift(block, example)).toEqual(drift)
  })

  it('finds ```ts blocks and the page line their code starts on, and no other fence', () => {
    const page = ['# T', '', '```ts', 'const a = 1', '```', '', '```sh', 'ls', '```', '```ts', 'const b = 2', 'const c = 3', '```', ''].join('\n')
    expect(tsBlocks(page)).toEqual([
      { code: 'const a = 1\n', line: 4 },
      { code: 'const b = 2\nconst c = 3\n', line: 11 },
    ])
  })

  it('points compiler and runtime output at the recipe page line', () => {
    const origins = { 'ivanti-1': { page: 'docs/products/ivanti.md', line: 9, prelude: 4 } }
    expect(toPageLines('ivanti-1.ts(6,3): error TS2304 and /tmp/x/ivanti-1.ts:5 and other.ts(1,1)', origins)).toBe(
      'docs/products/ivanti.md:10: error TS2304 and docs/products/ivanti.md:9 and other.ts(1,1)',
    )
  })
})
