import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { defineConfig } from 'tsup'

// One entry per public subpath (package.json "exports"), plus the CLI.
const entries: Record<string, string> = {
  index: 'src/index.ts',
  cli: 'src/cli.ts',
  express: 'src/adapters/express.ts',
  koa: 'src/adapters/koa.ts',
  hono: 'src/adapters/hono.ts',
  fastify: 'src/adapters/fastify.ts',
  postgres: 'src/stores/postgres.ts',
  redis: 'src/redis/index.ts',
  admin: 'src/admin/index.ts',
  testing: 'src/testing/index.ts',
  otel: 'src/otel/index.ts',
  // Not a public subpath: the invalidation bus's subscriber worker, loaded by file next to redis.
  'bus-worker': 'src/redis/_bus-worker.ts',
}

// ESM is the primary build; CJS is emitted for `require('keyward')`, which loads our ESM-only
// dependencies (jose 6, @noble/hashes 2) through Node's require(esm) (Node >= 20.19, hence
// engines.node).
/**
 * CommonJS only: `src/keys/_noble.ts` and `src/schemes/_jose.ts` are replaced by their `-cjs`
 * siblings, which `require()` `@noble/hashes` and `jose` on first use instead of at load (a
 * CommonJS bundle turns imports into top-level `require()` calls, and keeps `import()`, which a
 * CommonJS loader without ES module support cannot run). On Node the native hash is used and
 * noble is never loaded; jose is loaded only by a JWT scheme or `mintToken`. So Jest's CommonJS
 * loader, which cannot `require()` an ES module, meets neither unless JWT is used.
 */
const CJS_MARK = '__KEYWARD_CJS_BUILD__'
const ON_DEMAND = new Set([resolve('src/keys/_noble.ts'), resolve('src/schemes/_jose.ts')])
const onDemandInCjs = {
  name: 'keyward-on-demand-in-cjs',
  setup(build: { initialOptions: { define?: Record<string, string> }; onResolve(o: { filter: RegExp }, cb: (a: { path: string; resolveDir: string }) => { path: string } | undefined): void }) {
    // tsup builds CommonJS through esbuild's ESM output, so the format is read from the marker
    // that esbuildOptions (below, told the real format) leaves in this build's options.
    if (build.initialOptions.define?.[CJS_MARK] !== 'true') return
    build.onResolve({ filter: /\/_(noble|jose)\.js$/ }, (a) => {
      const file = resolve(a.resolveDir, a.path).replace(/\.js$/, '.ts')
      return ON_DEMAND.has(file) ? { path: file.replace(/\.ts$/, '-cjs.ts') } : undefined
    })
  },
}

export default defineConfig({
  entry: Object.fromEntries(Object.entries(entries).filter(([, file]) => existsSync(file))),
  format: ['esm', 'cjs'],
  // Declarations: scripts/build-types.ts, run by `npm run build` alongside this.
  dts: false,
  clean: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
  treeshake: true,
  splitting: true,
  shims: false,
  esbuildPlugins: [onDemandInCjs],
  esbuildOptions(options, context) {
    if (context.format === 'cjs') options.define = { ...options.define, [CJS_MARK]: 'true' }
    // Source maps name the files and lines of src/ for stack traces, without a copy of the
    // sources inside: the sources are in the repository, and copies tripled the package's size.
    options.sourcesContent = false
  },
})
