/**
 * Every key shown in the documentation is a valid key: a reader who pastes one into
 * `keyward check` (or `parseKey`) sees it accepted, not refused for a bad checksum. Placeholders
 * that are visibly not keys (`kw_live_…`) are not key-shaped and are left alone.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseKey } from '../../src/index.js'
import { ROOT } from '../package/_entries.js'

/** `<prefix>_<env?>_<38 base62>` with word boundaries: the shape `generateKey` produces. */
const KEY_SHAPED = /(?<![0-9A-Za-z_])[a-z][a-z0-9]{0,15}_(?:[a-z0-9]{1,16}_)?[0-9A-Za-z]{38}(?![0-9A-Za-z_])/g

/** The documents a user reads: Markdown at the top and under docs/, examples, and the TSDoc of src/. */
function documents(): string[] {
  const out: string[] = []
  const walk = (dir: string, keep: (f: string) => boolean): void => {
    let names: string[]
    try {
      names = readdirSync(dir)
    } catch {
      return
    }
    for (const n of names) {
      if (n === 'node_modules' || n.startsWith('.')) continue
      const p = join(dir, n)
      if (statSync(p).isDirectory()) walk(p, keep)
      else if (keep(p)) out.push(p)
    }
  }
  for (const n of readdirSync(ROOT)) if (n.endsWith('.md')) out.push(join(ROOT, n))
  walk(join(ROOT, 'docs'), (f) => f.endsWith('.md'))
  walk(join(ROOT, 'examples'), (f) => /\.(ts|md|cjs|mjs|js)$/.test(f))
  walk(join(ROOT, 'src'), (f) => f.endsWith('.ts'))
  return out
}

const found = documents().flatMap((file) =>
  [...readFileSync(file, 'utf8').matchAll(KEY_SHAPED)].map((m) => ({ file: relative(ROOT, file), key: m[0] })),
)

describe('keys shown in the documentation', () => {
  it('finds the example keys of docs/ (the scan is looking where users read)', () => {
    expect(found.filter((f) => f.file.startsWith(join('docs', ''))).length).toBeGreaterThanOrEqual(2)
  })

  it('are all valid keys: every key-shaped string passes the checksum', () => {
    const invalid = found.filter((f) => !parseKey(f.key)?.valid)
    expect(invalid).toEqual([])
  })
})
