/**
 * The console's script is TypeScript (src/admin/console/*.ts, type-checked by `tsc` with the
 * rest) bundled into src/admin/_console-script.ts by scripts/build-console.mjs. This fails when
 * the committed bundle is not what the sources build to (run `npm run console`).
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
// @ts-expect-error: a plain ES module script without type declarations
import { consoleModule } from '../../scripts/build-console.mjs'
import { CONSOLE_JS } from '../../src/admin/_console.js'

describe('the console script bundle', () => {
  it('is exactly what the console sources build to', async () => {
    const fresh = (await consoleModule()) as string
    expect(readFileSync('src/admin/_console-script.ts', 'utf8')).toBe(fresh)
  })

  it('is one self-contained script: no import, no external URL, no eval', () => {
    expect(CONSOLE_JS.startsWith('"use strict";\n(() => {')).toBe(true)
    expect(CONSOLE_JS).not.toMatch(/\bimport\s*[({'"]/)
    expect(CONSOLE_JS).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/)
    expect(CONSOLE_JS).not.toMatch(/\beval\(|new Function\(|innerHTML|outerHTML|insertAdjacentHTML|document\.write/)
  })
})
