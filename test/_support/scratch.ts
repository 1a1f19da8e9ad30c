/**
 * A scratch project, as a user would have after `npm i keyward` plus their framework, with
 * keyward's sources standing in for dist/: README snippets are type-checked and run in it,
 * importing keyward by package name.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** The subpaths of the stand-in package, each to its source. */
export const SUBPATHS: Record<string, string> = {
  '.': './src/index.ts',
  './admin': './src/admin/index.ts',
  './express': './src/adapters/express.ts',
  './koa': './src/adapters/koa.ts',
  './hono': './src/adapters/hono.ts',
  './fastify': './src/adapters/fastify.ts',
}

/**
 * Creates the project with one `<name>.ts` per program and a strict tsconfig listing them;
 * `extraDeps` names more of keyward's dev dependencies to link in (a peer a program migrates from).
 */
export function scratchProject(prefix: string, programs: Readonly<Record<string, string>>, extraDeps: readonly string[] = []): string {
  const project = mkdtempSync(join(tmpdir(), prefix))
  const nm = join(project, 'node_modules')
  mkdirSync(join(nm, 'keyward'), { recursive: true })
  writeFileSync(join(nm, 'keyward/package.json'), JSON.stringify({ name: 'keyward', type: 'module', exports: SUBPATHS }))
  symlinkSync(join(ROOT, 'src'), join(nm, 'keyward/src'), 'dir')
  for (const dep of ['express', 'koa', 'hono', '@hono', 'fastify', 'fastify-plugin', '@types', 'tsx', ...extraDeps]) symlinkSync(join(ROOT, 'node_modules', dep), join(nm, dep), 'dir')
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'fresh', private: true, type: 'module' }))
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, target: 'es2022', module: 'esnext', moduleResolution: 'bundler', types: ['node'], skipLibCheck: true, noEmit: true },
      files: Object.keys(programs).map((f) => `${f}.ts`),
    }),
  )
  for (const [name, code] of Object.entries(programs)) writeFileSync(join(project, `${name}.ts`), code)
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
