/**
 * `npm run build`: runs tsup for the JavaScript and, alongside it, scripts/build-types.ts for the
 * declarations; then records which sources the new `dist/` was built from, so that a later test
 * run can reuse `dist/` instead of building again, and only when it is provably fresh.
 *
 * The stamp (`node_modules/.cache/keyward-build/stamp.json`, never packed nor committed) holds two
 * SHA-256 digests: of every build input (`src/`, the tsup, TypeScript and package configuration,
 * the declaration step, the lockfile, which pins tsup, esbuild, rollup and TypeScript) and of
 * every file in `dist/`. `dist/` is fresh when both still match: a changed source, a changed
 * config, a dependency update, a partial or hand-edited `dist/` each make it stale. The inputs are
 * hashed before and after the build, and no stamp is written when they changed during the build
 * (a file saved mid-build).
 *
 * Usage: `tsx scripts/build.ts` builds and stamps; `tsx scripts/build.ts --if-stale` builds only
 * when `dist/` is not fresh. The test suite's globalSetup asks {@link isFresh} itself and runs
 * `npm run build` when it is not (test/package/_global-pack.ts).
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../', import.meta.url))
const STAMP = join(ROOT, 'node_modules', '.cache', 'keyward-build', 'stamp.json')
/** Files and folders that decide what the build writes. */
const INPUTS = ['src', 'tsup.config.ts', 'tsconfig.json', 'scripts/build-types.ts', 'package.json', 'package-lock.json']

/** What a build was made from and what it wrote. */
export interface Stamp {
  readonly inputs: string
  readonly outputs: string
}

/** Every file under `path` (or `path` itself), relative to `root`, sorted, `/`-separated. */
function files(root: string, path: string): string[] {
  const full = join(root, path)
  if (!existsSync(full)) return []
  const out: string[] = []
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) out.push(relative(root, p).split(sep).join('/'))
    }
  }
  if (statSync(full).isDirectory()) walk(full)
  else out.push(path)
  return out.sort()
}

/** SHA-256 over the names and contents of `paths` under `root` (a missing one hashes as absent). */
function digest(root: string, paths: readonly string[]): string {
  const h = createHash('sha256')
  for (const p of paths.flatMap((path) => files(root, path))) {
    const body = readFileSync(join(root, p))
    h.update(`${p}\0${body.length}\0`).update(body)
  }
  return h.digest('hex')
}

/** The stamp `root`'s `dist/` would have if built from the current inputs as it is now. */
export function currentStamp(root = ROOT): Stamp {
  return { inputs: digest(root, INPUTS), outputs: digest(root, ['dist']) }
}

/** Records that `root`'s `dist/`, as it is now, was built from inputs whose digest is `inputs`. */
export function writeStamp(inputs: string, root = ROOT, stamp = STAMP): void {
  mkdirSync(dirname(stamp), { recursive: true })
  writeFileSync(stamp, `${JSON.stringify({ inputs, outputs: digest(root, ['dist']) } satisfies Stamp)}\n`)
}

/** Whether `dist/` was built by this script from exactly the current inputs and is unchanged since. */
export function isFresh(root = ROOT, stamp = STAMP): boolean {
  try {
    const saved = JSON.parse(readFileSync(stamp, 'utf8')) as Partial<Stamp>
    const now = currentStamp(root)
    return saved.inputs === now.inputs && saved.outputs === now.outputs && existsSync(join(root, 'dist', 'index.js'))
  } catch {
    return false
  }
}

/** tsup's exit status (it cleans `dist/` first, then writes the JavaScript and source maps). */
function tsup(): Promise<number> {
  const cli = createRequire(import.meta.url).resolve('tsup/dist/cli-default.js')
  return new Promise((done) => {
    spawn(process.execPath, [cli], { cwd: ROOT, stdio: 'inherit' })
      .on('error', () => done(1))
      .on('exit', (code) => done(code ?? 1))
  })
}

/** The entries tsup builds and the packages it leaves as imports, from its config and package.json. */
async function typesBuild(): Promise<{ entries: Record<string, string>; external: string[] }> {
  const config = (await import(pathToFileURL(join(ROOT, 'tsup.config.ts')).href)) as { default: { entry: Record<string, string> } }
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>
  return { entries: config.default.entry, external: [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})] }
}

/** Builds `dist/` (tsup and the declarations at once) and stamps the result. Returns an exit status. */
export async function build(): Promise<number> {
  rmSync(STAMP, { force: true })
  const before = digest(ROOT, INPUTS)
  const js = tsup()
  // Loaded here, not at the top: TypeScript and rollup are for building, and the test run imports
  // this module for isFresh() alone.
  const { bundleDeclarations, emitDeclarations } = await import('./build-types.js')
  const types = await typesBuild()
  // The compiler runs here while tsup runs in its own process. tsup cleans dist/ when it starts,
  // so the bundled declarations are written only once it has ended. The one-per-source .d.ts
  // files go outside node_modules: the bundler takes anything TypeScript resolves inside a
  // node_modules folder for a package, and leaves it as an import.
  const declarations = mkdtempSync(join(tmpdir(), 'keyward-types-'))
  try {
    const errors = emitDeclarations(ROOT, Object.values(types.entries), declarations)
    const status = await js
    if (errors !== '') {
      console.error(`build: TypeScript errors; no declarations written\n${errors}`)
      return 1
    }
    if (status !== 0) return status
    await bundleDeclarations(ROOT, types, declarations)
  } finally {
    rmSync(declarations, { recursive: true, force: true })
  }
  console.log('build: declarations bundled into dist/')
  if (digest(ROOT, INPUTS) !== before) {
    console.warn('build: sources changed during the build; dist/ is not stamped and will be rebuilt by the next test run')
    return 0
  }
  writeStamp(before)
  return 0
}

const script = process.argv[1]
if (script !== undefined && realpathSync(script) === realpathSync(fileURLToPath(import.meta.url))) {
  if (process.argv.includes('--if-stale') && isFresh()) {
    console.log('build: dist/ is fresh for the current sources (content hash); not rebuilt')
  } else {
    process.exitCode = await build()
  }
}
