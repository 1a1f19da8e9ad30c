/**
 * A scratch project, as a user would have after `npm i keyward` plus their framework: README
 * snippets are run in it with tsx, as the README says (`npx tsx server.ts`), importing keyward by
 * package name. keyward there is this run's build (`dist/`, with package.json's `exports`), what
 * `npm i` installs, so a snippet runs the code a user gets; the globalSetup builds it once per run
 * for the files that use a scratch project (`TYPECHECK_CONSUMERS` in `typecheck.ts`, whose shared
 * type-check reads the same build). Running against the sources instead cost tsx a transform of
 * every source module in each of the projects' processes.
 */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
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

/**
 * Creates the project, once `dist/` is built, with one `<name>.ts` per program and a strict
 * tsconfig listing them; `extraDeps` names more of keyward's dev dependencies to link in (a peer a
 * program migrates from).
 */
export async function scratchProject(prefix: string, programs: Readonly<Record<string, string>>, extraDeps: readonly string[] = []): Promise<string> {
  await builtDist()
  const project = mkdtempSync(join(tmpdir(), prefix))
  installBuild(project, ['express', 'koa', 'hono', '@hono', 'fastify', 'fastify-plugin', '@types', 'tsx', ...extraDeps])
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, target: 'es2022', module: 'esnext', moduleResolution: 'bundler', types: ['node'], skipLibCheck: true, noEmit: true },
      files: Object.keys(programs).map((f) => `${f}.ts`),
    }),
  )
  for (const [file, code] of Object.entries(programs)) writeFileSync(join(project, `${file}.ts`), code)
  return project
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
