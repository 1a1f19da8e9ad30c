/**
 * The product recipes (docs/products/*.md, and any ```ts block of README.md besides the quick
 * start) cannot rot: every block is either found verbatim in its runnable example, which
 * `test/adapters/examples.test.ts` calls over HTTP, or type-checked with strict settings and run
 * in a fresh project that imports keyward by package name. A block neither covers fails here.
 */
import { execFile } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BUILD_MS, programArgs, ROOT, scratchProject } from '../_support/scratch.js'
import { sharedTypecheck } from '../_support/typecheck.js'
import { blocks, COVERAGE, firstDrift, recipePrograms, toPageLines, tsBlocks } from './_recipes.js'

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')

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
  const { programs, origins } = recipePrograms()

  beforeAll(async () => {
    project = await scratchProject('keyward-recipes-', programs)
  }, BUILD_MS)

  afterAll(() => rmSync(project, { recursive: true, force: true }))

  it('type-check with strict settings, importing keyward by package name', async () => {
    expect(Object.keys(programs).length).toBeGreaterThan(0)
    // One tsc run for every scratch project's programs (test/_support/typecheck.ts); this file's share.
    const { code, output } = await sharedTypecheck('recipes', programs)
    expect(toPageLines(output, origins)).toBe('')
    expect(code).toBe(0)
  }, 120_000)

  it('run to completion with a real in-memory store, as a user pasting them would', async () => {
    const runs = Object.keys(programs).map(
      (name) =>
        new Promise<[string, string]>((resolve) => {
          execFile(process.execPath, programArgs(name, 'compiled'), { cwd: project, timeout: 60_000 }, (err, stdout, stderr) =>
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
