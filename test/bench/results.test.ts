/**
 * `npm run bench` leaves a clean checkout clean: its report goes to an untracked file unless
 * `--write` asks for the committed one, and the notes it prints speak of keyward's own targets.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { resultsFile, SECTIONS, sectionsOf } from '../../bench/run.js'
import { ROOT } from '../package/_entries.js'

const rel = (u: URL) => relative(ROOT, fileURLToPath(u))

describe('npm run bench output', () => {
  it('writes an ignored file by default and the committed bench/RESULTS.md only with --write', () => {
    expect(rel(resultsFile([]))).toBe(join('bench', '.out', 'RESULTS.md'))
    expect(rel(resultsFile(['--write']))).toBe(join('bench', 'RESULTS.md'))
    const ignored = execFileSync('git', ['check-ignore', '-q', '--no-index', rel(resultsFile([]))], { cwd: ROOT, stdio: 'ignore' })
    expect(ignored).toBeNull()
  })

  it('runs every section by default, and only the named ones when given (npm run bench -- attribution)', () => {
    expect(sectionsOf([])).toEqual(SECTIONS)
    expect(sectionsOf(['--write'])).toEqual(SECTIONS)
    expect(sectionsOf(['attribution'])).toEqual(['attribution'])
    expect(sectionsOf(['http', 'core'])).toEqual(['core', 'http'])
    for (const s of SECTIONS) expect(existsSync(join(ROOT, 'bench', `${s}.ts`))).toBe(true)
  })

  it('refuses an unknown section, and --write with a partial run (it would publish a partial report)', () => {
    expect(() => sectionsOf(['atribution'])).toThrow(/unknown section atribution/)
    expect(() => sectionsOf(['attribution', '--write'])).toThrow(/--write/)
  })

  it('cites no document outside the repository in its sources or committed results', () => {
    const dir = join(ROOT, 'bench')
    const cited = readdirSync(dir)
      .filter((f) => /\.(ts|md)$/.test(f))
      .filter((f) => /DESIGN\.md|\bissue \d/i.test(readFileSync(join(dir, f), 'utf8')))
    expect(cited).toEqual([])
  })
})
