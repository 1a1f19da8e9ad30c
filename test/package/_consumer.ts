/**
 * Build, pack and install the package the way a user gets it, without the network: the tarball
 * from `npm pack`, installed into a throw-away project outside the repository.
 *
 * Offline install: npm needs the runtime dependencies (jose, @noble/hashes, ipaddr.js) besides
 * the tarball. They are copied from the repository's node_modules into the consumer's before
 * `npm install`, which then finds them already satisfied and fetches nothing. `--offline` with a
 * fresh, empty `--cache` proves it: any fetch fails with ENOTCACHED instead of quietly using the
 * machine's npm cache (which CI may not have) or the registry.
 */
import { spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { ROOT } from './_entries.js'

/** The nearest `node_modules` in `dir` or any of its ancestors, if there is one. */
function ancestorNodeModules(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules')
    if (existsSync(candidate)) return candidate
    if (dirname(d) === d) return undefined
  }
}

/**
 * A new temporary directory from which Node and TypeScript can find no package but those
 * installed into it. Node resolves a bare import in every ancestor's `node_modules`, so a
 * stray `/tmp/node_modules` (seen on shared machines, even as a symlink to a repository's)
 * would quietly supply a dependency the package forgot to declare, or a peer the core must not
 * need. The system temp directory is used unless such a folder is above it; then the next
 * clean candidate; if none is clean, the test fails rather than prove nothing.
 */
export function isolatedTempDir(prefix: string): string {
  const skipped: string[] = []
  for (const base of [tmpdir(), '/var/tmp', '/dev/shm', homedir()]) {
    let real: string
    try {
      real = realpathSync(base)
    } catch {
      continue
    }
    const shadow = ancestorNodeModules(real)
    if (shadow === undefined) {
      if (skipped.length > 0) console.info(`package test: not using ${skipped.join(', ')}`)
      // Real path: tsc and Node report resolved files by real path (macOS's /tmp is a symlink).
      return realpathSync(mkdtempSync(join(real, prefix)))
    }
    skipped.push(`${base} (${shadow} would be visible to the consumer)`)
  }
  throw new Error(`no temporary directory without a node_modules above it: ${skipped.join('; ')}`)
}

/** The outcome of a child process. */
export interface Result {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * The environment for child processes: ours, minus what `npm test` or vitest injected
 * (`npm_config_*`, `NODE_OPTIONS`), `NODE_PATH` (another place Node finds packages) and
 * `KEYWARD_PEPPER`, so results do not depend on how or where the suite was started.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) && k !== 'NODE_OPTIONS' && k !== 'NODE_PATH' && k !== 'KEYWARD_PEPPER') env[k] = v
  }
  return { ...env, ...extra }
}

/** Runs a command to completion (asynchronously, so vitest timeouts still work). */
export function run(command: string, args: readonly string[], options: { cwd: string; input?: string; env?: Record<string, string> }): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: childEnv(options.env), shell: process.platform === 'win32' })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (status) => resolve({ status, stdout, stderr }))
    child.stdin.on('error', () => {})
    child.stdin.end(options.input ?? '')
  })
}

/** Like {@link run}, but a non-zero exit throws with the command's output. */
export async function runOk(command: string, args: readonly string[], options: { cwd: string; input?: string; env?: Record<string, string> }): Promise<Result> {
  const r = await run(command, args, options)
  if (r.status !== 0) {
    throw new Error(`\`${command} ${args.join(' ')}\` exited ${r.status} in ${options.cwd}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`)
  }
  return r
}

/** A file in the tarball, as `npm pack --json` lists it. */
export interface PackedFile {
  readonly path: string
  readonly size: number
  readonly mode: number
}

/** The packed tarball. */
export interface Packed {
  readonly tarball: string
  readonly files: readonly PackedFile[]
}

/**
 * `npm pack` into `dest`. Lifecycle scripts are skipped: the build has just run, and a
 * `prepack` that rebuilds would only double the time.
 */
export async function pack(dest: string): Promise<Packed> {
  const r = await runOk('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], { cwd: ROOT })
  const [info] = JSON.parse(r.stdout) as { filename: string; files: PackedFile[] }[]
  if (info === undefined) throw new Error('npm pack printed no package')
  return { tarball: join(dest, info.filename), files: info.files }
}

function readPackage(dir: string): { dependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }
}

/**
 * Copies `names` and their dependencies from the repository's node_modules into `consumer`'s.
 * A dependency nested under its dependent (`x/node_modules/y`) comes along with the copy.
 */
function seedDependencies(consumer: string, names: readonly string[]): string[] {
  const seen = new Set<string>()
  const queue = [...names]
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (seen.has(name)) continue
    seen.add(name)
    const from = join(ROOT, 'node_modules', name)
    if (!existsSync(join(from, 'package.json'))) {
      throw new Error(`${name} is a runtime dependency but is not in ${join(ROOT, 'node_modules')}: run npm ci first`)
    }
    const to = join(consumer, 'node_modules', name)
    mkdirSync(dirname(to), { recursive: true })
    cpSync(from, to, { recursive: true, dereference: true })
    for (const dep of Object.keys(readPackage(from).dependencies ?? {})) {
      if (!existsSync(join(from, 'node_modules', dep))) queue.push(dep)
    }
  }
  return [...seen].sort()
}

/**
 * Creates an ESM consumer project in `dir` and installs `tarball` into it offline. Returns the
 * runtime packages seeded from the repository.
 */
export async function installConsumer(dir: string, tarball: string, dependencies: readonly string[]): Promise<string[]> {
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'keyward-consumer', private: true, type: 'module' }, null, 2)}\n`)
  const seeded = seedDependencies(dir, dependencies)
  const cache = join(dir, '.npm-cache-empty')
  mkdirSync(cache)
  await runOk('npm', ['install', '--offline', '--cache', cache, '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', tarball], { cwd: dir })
  return seeded
}

/** `@types/express` for `express`, `@types/hono__node-server` for `@hono/node-server`. */
function typesPackageOf(name: string): string {
  return `@types/${name.startsWith('@') ? name.slice(1).replace('/', '__') : name}`
}

/**
 * Makes packages from the repository's node_modules visible to the consumer by symlink: Node and
 * TypeScript follow the link to the real directory, where those packages' own dependencies are
 * found. Used for `@types/node` and for the optional peers (with their `@types/*`), which only
 * the subpath entry points need. Returns what was linked; names not installed are skipped.
 */
export function linkFromRepo(consumer: string, names: readonly string[], withTypes = false): string[] {
  const linked: string[] = []
  const candidates = withTypes ? names.flatMap((n) => [n, typesPackageOf(n)]) : [...names]
  for (const name of candidates) {
    const from = join(ROOT, 'node_modules', name)
    const to = join(consumer, 'node_modules', name)
    if (!existsSync(join(from, 'package.json')) || existsSync(to)) continue
    mkdirSync(dirname(to), { recursive: true })
    symlinkSync(from, to, 'junction')
    linked.push(name)
  }
  return linked.sort()
}

/** Copies a fixture from test/package/fixtures into the consumer, optionally renamed. */
export function copyFixture(consumer: string, name: string, as = name.replace(/\.in$/, '')): void {
  cpSync(join(ROOT, 'test/package/fixtures', name), join(consumer, as))
}


/** Writes a tsconfig for the consumer check: strict, library types checked too, and any `extra` compiler options. */
export function writeTsconfig(consumer: string, file: string, resolution: 'nodenext' | 'bundler', files: readonly string[], extra: Readonly<Record<string, unknown>> = {}): void {
  const compilerOptions = {
    module: resolution === 'nodenext' ? 'nodenext' : 'esnext',
    moduleResolution: resolution,
    target: 'es2022',
    lib: ['es2023'],
    types: ['node'],
    strict: true,
    noEmit: true,
    // Our .d.ts files are part of what is checked: a broken declaration must fail here.
    skipLibCheck: false,
    ...extra,
  }
  writeFileSync(join(consumer, file), `${JSON.stringify({ compilerOptions, files }, null, 2)}\n`)
}
