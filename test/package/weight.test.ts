/**
 * What the package weighs in a user's build: a bundler keeps `jose` only for a program that uses a
 * JWT scheme (the quick starts use none), and the source maps name the sources without carrying
 * them. Bundled with esbuild, minified, from this run's build installed as keyward (`dist/`, with
 * package.json's `exports`), the framework left to the user's own install; the sizes are printed
 * (`[weight]`), not asserted: they move with every feature.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXPRESS, HONO } from '../adapters/_quickstart.js'
import { BUILD_MS, installBuild, ROOT } from '../_support/scratch.js'
import { isolatedTempDir } from './_consumer.js'
import { builtDist } from './_global-pack.js'

/** A program that configures the JWT scheme (docs/jwt.md's set-up): the positive control. */
const WITH_JWT = `import { createAuthorizer, schemes, MemoryKeyStore } from 'keyward'
export const authorizer = createAuthorizer({
  store: new MemoryKeyStore(),
  schemes: [schemes.jwt({ jwks: { url: 'https://idp.example.com/.well-known/jwks.json' }, algorithms: ['RS256'], issuer: 'https://idp.example.com/', audience: 'https://api.example.com' })],
})
`

const PROGRAMS = { 'hono quick start': HONO, 'express quick start': EXPRESS, 'a JWT scheme': WITH_JWT } as const
type Program = keyof typeof PROGRAMS

/** The user's framework: theirs to install, not part of keyward's weight. */
const FRAMEWORKS = ['hono', '@hono/node-server', 'express']

interface Bundle {
  readonly minified: number
  readonly gzip: number
  /** The packages with at least one byte in the bundle (keyward itself excluded). */
  readonly packages: readonly string[]
}

const project = isolatedTempDir('keyward-weight-')
const bundles = new Map<Program, Bundle>()

/** The package a bundled input file belongs to (`jose`, `@noble/hashes`), or `undefined` for keyward's own and the program's files. */
function packageOf(input: string): string | undefined {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)
  return m === null || m[1] === 'keyward' ? undefined : m[1]
}

async function bundle(name: Program): Promise<Bundle> {
  const entry = join(project, `${name.replaceAll(' ', '-')}.ts`)
  writeFileSync(entry, PROGRAMS[name])
  const r = await build({ entryPoints: [entry], bundle: true, minify: true, platform: 'node', format: 'esm', target: 'node20', external: FRAMEWORKS, write: false, metafile: true, logLevel: 'silent' })
  const [out] = r.outputFiles
  const [meta] = Object.values(r.metafile.outputs)
  if (out === undefined || meta === undefined) throw new Error(`esbuild wrote no bundle for ${name}`)
  const kept = Object.entries(meta.inputs).filter(([, v]) => v.bytesInOutput > 0)
  const packages = [...new Set(kept.map(([input]) => packageOf(input)).filter((p) => p !== undefined))].sort()
  return { minified: out.contents.length, gzip: gzipSync(out.contents).length, packages }
}

beforeAll(async () => {
  await builtDist()
  installBuild(project, ['jose', '@noble', 'ipaddr.js', 'hono', '@hono', 'express'])
  for (const name of Object.keys(PROGRAMS) as Program[]) bundles.set(name, await bundle(name))
  const kb = (n: number) => `${(n / 1000).toFixed(1)} kB`
  for (const [name, b] of bundles) console.info(`[weight] ${name}: ${kb(b.minified)} minified, ${kb(b.gzip)} gzip; packages kept: ${b.packages.join(', ')}`)
}, BUILD_MS)

afterAll(() => rmSync(project, { recursive: true, force: true }))

describe('what a bundler keeps of keyward', () => {
  it.each(['hono quick start', 'express quick start'] as const)('drops jose from the %s, which uses no JWT scheme', (name) => {
    expect(bundles.get(name)?.packages).not.toContain('jose')
    // Not vacuous: the bundle holds keyward's own dependency for address checks.
    expect(bundles.get(name)?.packages).toContain('ipaddr.js')
  })

  it('keeps jose for a program that configures a JWT scheme', () => {
    expect(bundles.get('a JWT scheme')?.packages).toContain('jose')
  })
})

describe('the source maps of the build', () => {
  it('name their sources but do not embed them', () => {
    const maps = readdirSync(join(ROOT, 'dist')).filter((f) => f.endsWith('.map'))
    const named = new Set<string>()
    for (const file of maps) {
      const map = JSON.parse(readFileSync(join(ROOT, 'dist', file), 'utf8')) as { sources?: string[]; sourcesContent?: unknown[] }
      for (const source of map.sources ?? []) named.add(source.replace(/^(\.\.\/)+/, ''))
      expect((map.sourcesContent ?? []).filter((c) => c !== null), file).toEqual([])
    }
    // The sources are named, here those of three entries (a chunk of bundler helpers alone names none).
    expect([...named]).toEqual(expect.arrayContaining(['src/index.ts', 'src/adapters/hono.ts', 'src/cli.ts']))
  })
})
