/**
 * A scratch project, as a user would have after `npm i keyward` plus their framework: README
 * snippets are run in it, importing keyward by package name; the quick starts with tsx, as the
 * README says (`npx tsx server.ts`), the others compiled ahead ({@link programArgs}). keyward
 * there is this run's build (`dist/`, with package.json's `exports`), what `npm i` installs, so a
 * snippet runs the code a user gets; the globalSetup builds it once per run for the files that
 * use a scratch project (`TYPECHECK_CONSUMERS` in `typecheck.ts`, whose shared type-check reads
 * the same build). Running against the sources instead cost tsx a transform of every source
 * module in each of the projects' processes.
 */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { transform } from 'esbuild'
import { builtDist } from '../package/_global-pack.js'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** How long a hook that makes a scratch project may wait for the build (a fresh clone builds first). */
export const BUILD_MS = 240_000

/**
 * Makes `dir` a user's project (`package.json` of an ES module package) with this run's build
 * installed as keyward, as `npm i` would (package.json's name, type and `exports`, `dist/` linked),
 * and `deps` linked from the repository's node_modules beside it. `dist/` is linked by its path,
 * so the project may be written before the build ends; run or check it only after.
 */
export function installBuild(dir: string, deps: readonly string[]): void {
  const nm = join(dir, 'node_modules')
  mkdirSync(join(nm, 'keyward'), { recursive: true })
  const { name, type, exports } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>
  writeFileSync(join(nm, 'keyward/package.json'), JSON.stringify({ name, type, exports }))
  symlinkSync(join(ROOT, 'dist'), join(nm, 'keyward/dist'), 'dir')
  for (const dep of deps) symlinkSync(join(ROOT, 'node_modules', dep), join(nm, dep), 'dir')
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fresh', private: true, type: 'module' }))
}

/** The compiler options of a scratch project that change the JavaScript it compiles to (for esbuild, as for tsx). */
const EMIT_OPTIONS = { strict: true, target: 'es2022' } as const

/**
 * Creates the project, once `dist/` is built, with one `<name>.ts` per program and a strict
 * tsconfig listing them, and each program also compiled to `<name>.mjs` ({@link programArgs});
 * `extraDeps` names more of keyward's dev dependencies to link in (a peer a program migrates from).
 */
export async function scratchProject(prefix: string, programs: Readonly<Record<string, string>>, extraDeps: readonly string[] = []): Promise<string> {
  await builtDist()
  const project = mkdtempSync(join(tmpdir(), prefix))
  installBuild(project, ['express', 'koa', 'hono', '@hono', 'fastify', 'fastify-plugin', '@types', 'tsx', ...extraDeps])
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { ...EMIT_OPTIONS, module: 'esnext', moduleResolution: 'bundler', types: ['node'], skipLibCheck: true, noEmit: true },
      files: Object.keys(programs).map((f) => `${f}.ts`),
    }),
  )
  await Promise.all(
    Object.entries(programs).map(async ([file, code]) => {
      writeFileSync(join(project, `${file}.ts`), code)
      // What tsx would run: esbuild's transform of the file, for this Node, with the project's options.
      const js = await transform(code, {
        loader: 'ts',
        format: 'esm',
        target: `node${process.versions.node}`,
        sourcefile: `${file}.ts`,
        sourcemap: 'inline',
        tsconfigRaw: { compilerOptions: EMIT_OPTIONS },
      })
      writeFileSync(join(project, `${file}.mjs`), js.code)
    }),
  )
  return project
}

/**
 * The arguments (after `node`) that start program `name` of a scratch project, in the project's
 * folder. `'tsx'`: `--import tsx <name>.ts`, the README's own command, which the quick starts
 * keep. `'compiled'`: `<name>.mjs`, the same program compiled by esbuild (the compiler tsx runs)
 * when the project was made, with source maps, so an error names the line of `<name>.ts`. The
 * other snippet tests use it: what they test is the program, and tsx's start-up (its loader
 * thread) cost about 0.4 s of CPU in each of their processes.
 */
export function programArgs(name: string, runner: 'tsx' | 'compiled'): string[] {
  return runner === 'tsx' ? ['--import', 'tsx', `${name}.ts`] : ['--enable-source-maps', `${name}.mjs`]
}

/** A loopback port free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })
}
