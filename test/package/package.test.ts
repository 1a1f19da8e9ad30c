/**
 * The published package, end to end: build, `npm pack`, lint the tarball (publint, attw), install
 * it offline into a temporary consumer project outside the repository, and use it from ESM,
 * CommonJS, TypeScript (`nodenext` and `bundler`) and the `keyward` bin.
 *
 * First the root entry alone, with no optional peer installed (the core must not need one);
 * then every subpath entry that package.json exports, with the peers linked from the repo.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, normalize } from 'node:path'
import { pathToFileURL } from 'node:url'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashKey } from '../../src/index.js'
import { copyFixture, installConsumer, isolatedTempDir, linkFromRepo, run, runOk, writeTsconfig, type Packed } from './_consumer.js'
import { packedPackage } from './_global-pack.js'
import { packageJson, publicEntries, ROOT, type Entry } from './_entries.js'
import { acceptedAttwProblems, attw } from './_attw.js'

const SLOW = 300_000
const pkg = packageJson()
const work = mkdtempSync(join(tmpdir(), 'keyward-package-'))
const consumer = isolatedTempDir('keyward-consumer-')
const timings: [string, number][] = []

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now()
  try {
    return await fn()
  } finally {
    timings.push([label, Math.round(performance.now() - t0)])
  }
}

let packed: Packed
let entries: Entry[] = []

beforeAll(async () => {
  entries = await publicEntries()
  // Built and packed once per run by the globalSetup (`_global-pack.ts`), shared with the Jest test.
  const provided = await packedPackage()
  packed = provided
  timings.push([provided.reusedBuild ? 'dist/ reused, fresh by content hash (globalSetup)' : 'npm run build (globalSetup)', provided.timings.build], ['npm pack (globalSetup)', provided.timings.pack])
  await timed('npm install (offline)', () => installConsumer(consumer, packed.tarball, Object.keys(pkg.dependencies ?? {})))
  linkFromRepo(consumer, ['@types/node'])
}, SLOW)

afterAll(() => {
  console.info(`package test timings (ms): ${timings.map(([l, ms]) => `${l} ${ms}`).join(', ')}`)
  rmSync(work, { recursive: true, force: true })
  rmSync(consumer, { recursive: true, force: true })
})

const inConsumer = (...parts: string[]) => join(consumer, 'node_modules', 'keyward', ...parts)

/** One consumer project's type-check: its program's files, and the diagnostics reported. */
interface Checked {
  readonly project: string
  readonly files: string[]
  readonly diagnostics: string[]
}

/**
 * Type-checks consumer projects (`tsconfig` files in the consumer), all in one child process
 * (`test/_support/check-types.mjs`), and returns each project's program files and diagnostics:
 * those in the consumer's files and in keyward's declarations. Other packages' declarations (e.g.
 * an @types/* out of step with its package) are in the program but their insides are not
 * checked: they are not ours to fix, and a consumer with `skipLibCheck` never sees them. Throws
 * when the check itself fails.
 */
async function tsc(...projects: string[]): Promise<Checked[]> {
  const r = await run(process.execPath, [join(ROOT, 'test/_support/check-types.mjs'), consumer, ...projects], { cwd: ROOT })
  if (r.status !== 0 || r.stderr !== '') throw new Error(`the type-check exited ${r.status}\n${r.stderr}`)
  const report = JSON.parse(r.stdout) as Record<string, { files: string[]; diagnostics: string[] }>
  return projects.map((project) => ({ project, files: report[project]!.files.map((f) => normalize(f)), diagnostics: report[project]!.diagnostics }))
}

/** A project's program files, after failing on any diagnostic it has. */
function compiled({ project, files, diagnostics }: Checked): string[] {
  expect({ project, diagnostics }).toEqual({ project, diagnostics: [] })
  return files
}

describe('the tarball', () => {
  it('holds only dist/, package.json and docs, with every exported file and an executable bin', () => {
    const paths = packed.files.map((f) => f.path)
    expect(paths.filter((p) => !/^(dist\/|package\.json$|README\.md$|LICEN[CS]E(\.\w+)?$|CHANGELOG\.md$)/.test(p))).toEqual([])
    for (const e of entries.filter((x) => x.target !== undefined)) {
      for (const file of [e.target?.import?.default, e.target?.import?.types, e.target?.require?.default, e.target?.require?.types]) {
        expect(file, `exports["${e.subpath}"] lacks a condition`).toBeDefined()
        expect(paths, `exports["${e.subpath}"] points at a file not in the tarball`).toContain(file!.slice(2))
      }
    }
    for (const bin of Object.values(pkg.bin ?? {})) {
      const file = packed.files.find((f) => f.path === bin.replace(/^\.\//, ''))
      expect(file, `bin ${bin} is not in the tarball`).toBeDefined()
      expect(file!.mode & 0o111, `bin ${bin} is not executable`).not.toBe(0)
    }
  })

  it('names its repository, homepage and issue tracker, and SECURITY.md sends reports to that repository', () => {
    const installed = JSON.parse(readFileSync(inConsumer('package.json'), 'utf8')) as { repository?: { url?: string }; homepage?: string; bugs?: { url?: string } }
    const repo = /^git\+(https:\/\/github\.com\/[\w.-]+\/[\w.-]+?)\.git$/.exec(installed.repository?.url ?? '')?.[1]
    expect(repo, 'repository.url is not a git+https GitHub URL').toBeDefined()
    expect(installed.homepage).toBe(`${repo}#readme`)
    expect(installed.bugs?.url).toBe(`${repo}/issues`)
    expect(readFileSync(join(ROOT, 'SECURITY.md'), 'utf8')).toContain(`<${repo}/security/advisories/new>`)
  })

  it('passes publint with no errors or warnings', async () => {
    const tarball = readFileSync(packed.tarball)
    const { messages, pkg: linted } = await timed('publint', () =>
      publint({ pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) }, level: 'suggestion' }),
    )
    const lines = messages.map((m) => `${m.type}: ${formatMessage(m, linted, { color: false }) ?? m.code}`)
    if (lines.length > 0) console.info(`publint:\n  ${lines.join('\n  ')}`)
    expect(lines.filter((l) => !l.startsWith('suggestion:'))).toEqual([])
  })

  it('passes "Are the types wrong?" for every entry point and resolution mode', async () => {
    const report = await timed('attw', () => attw(packed.tarball))
    const problems = report.problems.filter((p) => !acceptedAttwProblems(p))
    expect(problems).toEqual([])
    // Every exported subpath was analysed: attw found the same entry points we did.
    expect(report.entrypoints.filter((s) => s !== './package.json').sort()).toEqual(
      entries.filter((e) => e.target !== undefined).map((e) => e.subpath).sort(),
    )
  }, SLOW)
})

describe('the installed package, root entry, no optional peers', () => {
  it('is installed from the tarball, outside the repository, out of reach of any other node_modules', async () => {
    expect(JSON.parse(readFileSync(inConsumer('package.json'), 'utf8'))).toMatchObject({ name: pkg.name, version: pkg.version })
    expect(consumer.startsWith(ROOT)).toBe(false)
    // Nothing above the consumer can supply a package: a missing dependency fails to resolve.
    const probe = await run(process.execPath, ['-e', 'require.resolve("vitest")'], { cwd: consumer })
    expect(probe.status).not.toBe(0)
    expect(probe.stderr).toContain('MODULE_NOT_FOUND')
  })

  it('works from ESM: import, allow and deny', async () => {
    copyFixture(consumer, 'roundtrip.mjs')
    const r = await timed('esm round trip', () => runOk(process.execPath, ['roundtrip.mjs'], { cwd: consumer }))
    expect(JSON.parse(r.stdout)).toEqual({
      format: 'esm',
      allowed: true,
      forbidden: [false, 403, 'insufficient_permission'],
      unknown: [false, 401, 'invalid_credentials', 'invalid_credentials'],
      hashMatches: true,
      valid: true,
      resolved: pathToFileURL(inConsumer('dist', 'index.js')).href,
    })
    expect(r.stderr).toBe('')
  }, SLOW)

  it('works from CommonJS through require(esm), with no warning', async () => {
    copyFixture(consumer, 'roundtrip.cjs')
    const r = await timed('cjs round trip', () => runOk(process.execPath, ['roundtrip.cjs'], { cwd: consumer }))
    const out = JSON.parse(r.stdout) as Record<string, unknown>
    expect(out).toMatchObject({
      format: 'cjs',
      allowed: true,
      forbidden: [false, 403, 'insufficient_permission'],
      unknown: [false, 401, 'invalid_credentials', 'invalid_credentials'],
      hashMatches: true,
      valid: true,
      resolved: inConsumer('dist', 'index.cjs'),
      requireModule: true,
    })
    // The ESM-only dependencies are installed, but an API-key round trip loads none of them.
    expect(out.esmOnlyDependencies).toContain('@noble/hashes')
    expect(r.stderr).toBe('')
  }, SLOW)

  it('does not need require(esm) for API keys: with it switched off, require("keyward") still works', async (ctx) => {
    copyFixture(consumer, 'roundtrip.cjs')
    const r = await run(process.execPath, ['--no-experimental-require-module', 'roundtrip.cjs'], { cwd: consumer })
    // A later Node may drop the switch; then there is nothing to prove this way.
    if (/bad option/.test(r.stderr)) ctx.skip('this Node has no --no-experimental-require-module')
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' })
    expect(JSON.parse(r.stdout)).toMatchObject({ allowed: true, hashMatches: true, valid: true })
  }, SLOW)

  it('runs the keyward bin: generate, hash and check agree, with the pepper from the environment', async () => {
    const bin = join(consumer, 'node_modules', '.bin', 'keyward')
    const pepper = 'package-test-pepper-0123456789abcdef'
    const env = { KEYWARD_PEPPER: pepper }
    const gen = await runOk(bin, ['generate', '--json', '--prefix', 'acme', '--env', 'live'], { cwd: consumer, env })
    const { key, hash } = JSON.parse(gen.stdout) as { key: string; hash: string }
    expect(hash).toBe(hashKey(key, pepper))
    const hashed = await runOk(bin, ['hash'], { cwd: consumer, env, input: `${key}\n` })
    expect(hashed.stdout).toBe(`${hash}\n`)
    // npx resolves the local bin with no network; the private empty cache proves it.
    const checked = await runOk('npm', ['exec', '--offline', '--cache', join(consumer, '.npm-cache-empty'), '--', 'keyward', 'check', '-'], {
      cwd: consumer,
      input: `${key}\n`,
    })
    expect(checked.stdout).toBe('valid keyward key (prefix acme, environment live)\n')
    expect(checked.stdout + checked.stderr + hashed.stderr).not.toContain(key)
    const version = await runOk(bin, ['--version'], { cwd: consumer })
    expect(version.stdout).toBe(`${pkg.version}\n`)
    const usage = await run(bin, ['frobnicate'], { cwd: consumer })
    expect(usage.status).toBe(2)
  }, SLOW)

  /**
   * The root entry's consumer programs, checked in one run (the files they share parsed once):
   * nodenext (ESM and CJS), bundler, and the documented `pepper` under exactOptionalPropertyTypes.
   */
  let rootRun: Promise<Checked[]> | undefined
  const rootChecks = () =>
    (rootRun ??= (() => {
      copyFixture(consumer, 'consumer.ts.in')
      copyFixture(consumer, 'consumer.cts.in')
      copyFixture(consumer, 'exact-optional.ts.in')
      writeTsconfig(consumer, 'tsconfig.nodenext.json', 'nodenext', ['consumer.ts', 'consumer.cts'])
      writeTsconfig(consumer, 'tsconfig.bundler.json', 'bundler', ['consumer.ts'])
      writeTsconfig(consumer, 'tsconfig.exact.json', 'bundler', ['exact-optional.ts'], { exactOptionalPropertyTypes: true })
      return timed('tsc root (nodenext + bundler + exactOptionalPropertyTypes)', () => tsc('tsconfig.nodenext.json', 'tsconfig.bundler.json', 'tsconfig.exact.json'))
    })())

  it('type-checks a TypeScript consumer under nodenext (ESM and CJS) and bundler', async () => {
    const [nodenext, bundler] = (await rootChecks()).slice(0, 2).map(compiled)
    // The types came from the installed tarball: ESM types for import, CJS types for require.
    expect(nodenext).toContain(inConsumer('dist', 'index.d.ts'))
    expect(nodenext).toContain(inConsumer('dist', 'index.d.cts'))
    expect(bundler).toContain(inConsumer('dist', 'index.d.ts'))
  }, SLOW)

  it('type-checks the documented `pepper: process.env.KEYWARD_PEPPER` under exactOptionalPropertyTypes', async () => {
    const exact = compiled((await rootChecks())[2]!)
    expect(exact).toContain(inConsumer('dist', 'index.d.ts'))
  }, SLOW)
})

describe('the installed package, every exported subpath, peers linked from the repository', () => {
  let subpaths: Entry[] = []
  beforeAll(() => {
    subpaths = entries.filter((e) => e.target !== undefined && e.subpath !== '.')
    const linked = linkFromRepo(consumer, Object.keys(pkg.peerDependencies ?? {}), true)
    console.info(`package test: subpaths covered: ${subpaths.map((e) => e.specifier).join(', ') || '(none yet)'}; peers linked: ${linked.join(', ') || '(none)'}`)
  })

  it('exports the same names from import and require as the source does', async () => {
    copyFixture(consumer, 'exports.mjs')
    const all = entries.filter((e) => e.target !== undefined && e.source !== undefined)
    const r = await timed('exports (all entries)', () => runOk(process.execPath, ['exports.mjs', ...all.map((e) => e.specifier)], { cwd: consumer }))
    const seen = JSON.parse(r.stdout) as Record<string, { esm: string[]; cjs: string[]; esmFile: string; cjsFile: string }>
    for (const e of all) {
      const expected = Object.keys((await import(e.source!)) as object).sort()
      const got = seen[e.specifier]!
      expect({ specifier: e.specifier, esm: got.esm, cjs: got.cjs }).toEqual({ specifier: e.specifier, esm: expected, cjs: expected })
      expect(got.esmFile).toBe(pathToFileURL(inConsumer(e.target!.import!.default!)).href)
      expect(got.cjsFile).toBe(inConsumer(e.target!.require!.default!))
    }
  }, SLOW)

  it('type-checks an import of every subpath under nodenext (ESM and CJS) and bundler', async () => {
    const ids = subpaths.map((_, i) => `s${i}`)
    const esm = subpaths.map((e, i) => `import * as ${ids[i]} from '${e.specifier}'\nexport type T${i} = typeof ${ids[i]}\n`).join('')
    const cjs = subpaths.map((e, i) => `import ${ids[i]} = require('${e.specifier}')\nexport type T${i} = typeof ${ids[i]}\n`).join('')
    writeFileSync(join(consumer, 'subpaths.ts'), `${esm}export {}\n`)
    writeFileSync(join(consumer, 'subpaths.cts'), `${cjs}export {}\n`)
    writeTsconfig(consumer, 'tsconfig.sub-nodenext.json', 'nodenext', ['subpaths.ts', 'subpaths.cts'])
    writeTsconfig(consumer, 'tsconfig.sub-bundler.json', 'bundler', ['subpaths.ts'])
    const [nodenext, bundler] = (await timed('tsc subpaths (nodenext + bundler)', () => tsc('tsconfig.sub-nodenext.json', 'tsconfig.sub-bundler.json'))).map(compiled)
    for (const e of subpaths) {
      expect(nodenext).toContain(inConsumer(e.target!.import!.types!))
      expect(nodenext).toContain(inConsumer(e.target!.require!.types!))
      expect(bundler).toContain(inConsumer(e.target!.import!.types!))
    }
  }, SLOW)
})
