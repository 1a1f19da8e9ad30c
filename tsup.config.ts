import { existsSync } from 'node:fs'
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
}

// ESM is the primary build; CJS is emitted for `require('keyward')`, which loads our ESM-only
// dependencies (jose 6, @noble/hashes 2) through Node's require(esm) (Node >= 20.19, hence
// engines.node).
export default defineConfig({
  entry: Object.fromEntries(Object.entries(entries).filter(([, file]) => existsSync(file))),
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
  treeshake: true,
  splitting: true,
  shims: false,
})
