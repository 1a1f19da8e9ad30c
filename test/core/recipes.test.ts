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
    for (const [page, n, block, coverage] of blocks()) {
      if (coverage === undefined || !('example' in coverage)) continue
      const drift = firstDrift(block, read(coverage.example))
      expect(drift, drift && `${page} block ${n} drifts from ${coverage.example} at its line ${drift.line}: ${drift.text}`).toBeUndefined()
    }
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
