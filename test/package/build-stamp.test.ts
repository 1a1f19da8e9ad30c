/**
 * The test run reuses `dist/` only when it is provably fresh (`scripts/build.ts`): every change
 * to a build input or to `dist/` itself makes it stale, so a stale build is never tested.
 */
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { currentStamp, isFresh, writeStamp } from '../../scripts/build.js'

let root = ''
let stamp = ''

function put(path: string, text: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true })
  writeFileSync(join(root, path), text)
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'keyward-stamp-'))
  stamp = join(root, 'cache', 'stamp.json')
  put('src/index.ts', 'export const a = 1\n')
  put('src/core/engine.ts', 'export const b = 2\n')
  for (const f of ['tsup.config.ts', 'tsconfig.json', 'scripts/build-types.ts', 'package.json', 'package-lock.json']) put(f, `${f}\n`)
  put('dist/index.js', 'export const a = 1\n')
  put('dist/index.d.ts', 'export declare const a = 1\n')
  writeStamp(currentStamp(root).inputs, root, stamp)
})

afterEach(() => rmSync(root, { recursive: true, force: true }))

describe('a dist/ stamped by the build', () => {
  it('is fresh while neither its inputs nor its files change', () => {
    expect(isFresh(root, stamp)).toBe(true)
  })

  it.each([
    ['a source edited', () => put('src/core/engine.ts', 'export const b = 3\n')],
    ['a source added', () => put('src/core/new.ts', 'export {}\n')],
    ['a source removed', () => unlinkSync(join(root, 'src/core/engine.ts'))],
    ['a source renamed', () => (unlinkSync(join(root, 'src/core/engine.ts')), put('src/core/engine2.ts', 'export const b = 2\n'))],
    ['tsup.config.ts edited', () => put('tsup.config.ts', 'changed\n')],
    ['tsconfig.json edited', () => put('tsconfig.json', 'changed\n')],
    ['the declaration step edited', () => put('scripts/build-types.ts', 'changed\n')],
    ['package.json edited', () => put('package.json', 'changed\n')],
    ['the lockfile edited (a tsup, esbuild or TypeScript update)', () => put('package-lock.json', 'changed\n')],
    ['a dist/ file edited', () => put('dist/index.js', 'export const a = 2\n')],
    ['a dist/ file removed', () => unlinkSync(join(root, 'dist/index.d.ts'))],
    ['a dist/ file added', () => put('dist/extra.js', '\n')],
    ['dist/ gone', () => rmSync(join(root, 'dist'), { recursive: true })],
    ['the stamp gone', () => unlinkSync(stamp)],
    ['the stamp unreadable', () => writeFileSync(stamp, '{not json')],
  ])('is stale after %s', (_what, change) => {
    change()
    expect(isFresh(root, stamp)).toBe(false)
  })

  it('is fresh again when a change is undone (the digest is of contents, not of times)', () => {
    put('src/core/engine.ts', 'export const b = 3\n')
    expect(isFresh(root, stamp)).toBe(false)
    put('src/core/engine.ts', 'export const b = 2\n')
    expect(isFresh(root, stamp)).toBe(true)
  })
})
