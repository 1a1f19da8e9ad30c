/**
 * The declaration half of the build (scripts/build-types.ts), on a scratch project of three
 * sources: two entries sharing a module. The package tests check the real build's declarations
 * as a user's compiler reads them; these check the step's own rules.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleDeclarations, emitDeclarations } from '../../scripts/build-types.js'
import { ROOT } from './_entries.js'

let root = ''

function put(path: string, text: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true })
  writeFileSync(join(root, path), text)
}

const TSCONFIG = { compilerOptions: { target: 'ES2022', lib: ['ES2022'], module: 'ESNext', moduleResolution: 'Bundler', strict: true, skipLibCheck: true, types: [] } }
const ENTRIES = { index: 'src/index.ts', extra: 'src/adapters/extra.ts' }

beforeAll(() => {
  // Inside the repository (in its ignored .tmp/), so that `jose` resolves from its node_modules.
  mkdirSync(join(ROOT, '.tmp'), { recursive: true })
  root = mkdtempSync(join(ROOT, '.tmp', 'types-test-'))
  put('tsconfig.json', JSON.stringify(TSCONFIG))
  put('src/types.ts', 'export interface Shape { readonly id: string }\nexport class Box { #secret = 1; open(): number { return this.#secret } }\n')
  put('src/index.ts', "import type { Shape } from './types.js'\nexport { Box, type Shape } from './types.js'\nexport const make = (id: string): Shape => ({ id })\n")
  put('src/adapters/extra.ts', "import { Box } from '../types.js'\nimport type { JWTPayload } from 'jose'\nexport const box = (): Box => new Box()\nexport const same = (p: JWTPayload): JWTPayload => p\n")
})

afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('the declaration build', () => {
  it('writes each entry for import and for require, and one chunk for what both entries share', async () => {
    const decl = join(root, 'decl')
    expect(emitDeclarations(root, Object.values(ENTRIES), decl)).toBe('')
    await bundleDeclarations(root, { entries: ENTRIES, external: ['jose'] }, decl)
    const files = readdirSync(join(root, 'dist')).sort()
    const chunks = files.filter((f) => !/^(index|extra)\.d\.c?ts$/.test(f))
    // The shared module is one chunk per format, named for its module without the `.d` of `.d.ts`.
    expect(files.filter((f) => /^(index|extra)\.d\.c?ts$/.test(f))).toEqual(['extra.d.cts', 'extra.d.ts', 'index.d.cts', 'index.d.ts'])
    expect(chunks).toHaveLength(2)
    for (const chunk of chunks) expect(chunk).toMatch(/^types-[\w-]{8}\.d\.c?ts$/)
    // Each format's entries import that format's chunk; the class with a private field is declared once.
    const cjsChunk = chunks.find((c) => c.endsWith('.d.cts'))?.replace(/\.d\.cts$/, '.cjs')
    const esmChunk = chunks.find((c) => c.endsWith('.d.ts'))?.replace(/\.d\.ts$/, '.js')
    expect(readFileSync(join(root, 'dist', 'extra.d.cts'), 'utf8')).toContain(`from './${cjsChunk}'`)
    expect(readFileSync(join(root, 'dist', 'index.d.ts'), 'utf8')).toContain(`from './${esmChunk}'`)
    // A dependency's types stay an import of the dependency.
    expect(readFileSync(join(root, 'dist', 'extra.d.ts'), 'utf8')).toContain("from 'jose'")
  })

  it('reports a type error in a source with its file and code', () => {
    put('src/broken.ts', "export const n: number = 'not a number'\n")
    try {
      const errors = emitDeclarations(root, ['src/broken.ts'], join(root, 'decl-broken'))
      expect(errors).toContain('broken.ts')
      expect(errors).toContain('TS2322')
    } finally {
      rmSync(join(root, 'src/broken.ts'))
    }
  })

  it('reports a project without a tsconfig.json instead of guessing its options', () => {
    const bare = mkdtempSync(join(tmpdir(), 'keyward-types-bare-'))
    try {
      expect(emitDeclarations(bare, ['src/index.ts'], join(bare, 'decl'))).toMatch(/^no tsconfig\.json in /)
    } finally {
      rmSync(bare, { recursive: true, force: true })
    }
  })
})
