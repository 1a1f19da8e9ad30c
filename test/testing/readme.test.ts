/**
 * The "Testing your routes" README examples work when copied into a project: a scratch project
 * (in the OS temp dir) has `keyward` in node_modules, resolved by package name through an
 * `exports` map like the published one (with the sources standing in for dist/), plus the
 * frameworks, supertest and Vitest. The examples are type-checked with strict settings, then run
 * by Vitest in a child process. And the README holds them, and the Jest configurations that
 * jest.test.ts proves, verbatim.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isolatedTempDir } from '../package/_consumer.js'
import { ROOT } from '../package/_entries.js'
import { sharedTypecheck } from '../_support/typecheck.js'
import { SNIPPETS } from './_readme.js'

const RUN_MS = 120_000
const project = isolatedTempDir('keyward-readme-testing-')

beforeAll(() => {
  const nm = join(project, 'node_modules')
  mkdirSync(join(nm, 'keyward'), { recursive: true })
  const entry = (file: string) => ({ types: file, default: file })
  writeFileSync(
    join(nm, 'keyward/package.json'),
    JSON.stringify({
      name: 'keyward',
      type: 'module',
      exports: {
        '.': entry('./src/index.ts'),
        './express': entry('./src/adapters/express.ts'),
        './koa': entry('./src/adapters/koa.ts'),
        './hono': entry('./src/adapters/hono.ts'),
        './testing': entry('./src/testing/index.ts'),
      },
    }),
  )
  symlinkSync(join(ROOT, 'src'), join(nm, 'keyward/src'), 'dir')
  for (const dep of ['express', 'koa', 'hono', 'supertest', 'vitest', '@types']) symlinkSync(join(ROOT, 'node_modules', dep), join(nm, dep), 'dir')
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'readme-testing', private: true, type: 'module' }))
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, target: 'es2022', module: 'esnext', moduleResolution: 'bundler', types: ['node'], skipLibCheck: true, noEmit: true, esModuleInterop: true },
      files: Object.keys(SNIPPETS),
    }),
  )
  for (const [file, { code }] of Object.entries(SNIPPETS)) writeFileSync(join(project, file), code)
})

afterAll(() => rmSync(project, { recursive: true, force: true }))

/** Vitest in the scratch project, reporting as JSON; the child is killed past the deadline. */
function vitest(): Promise<{ status: number | null; output: string; report: string }> {
  const out = join(project, 'report.json')
  const env: NodeJS.ProcessEnv = {}
  // Ours, minus what this Vitest run or npm put there, so the child is a fresh Vitest.
  for (const [k, v] of Object.entries(process.env)) if (!/^(VITEST|npm_|NODE_OPTIONS$|KEYWARD_PEPPER$)/.test(k)) env[k] = v
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--root', project, '--reporter=json', `--outputFile=${out}`],
      { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_MS)
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.on('close', (status) => {
      clearTimeout(timer)
      resolve({ status, output, report: existsSync(out) ? readFileSync(out, 'utf8') : '' })
    })
  })
}

/** The section "Testing your routes" of docs/testing.md. */
function readmeSection(): string {
  const readme = readFileSync(join(ROOT, 'docs/testing.md'), 'utf8')
  const start = readme.indexOf('## Testing your routes')
  expect(start, 'docs/testing.md has a "Testing your routes" section').toBeGreaterThanOrEqual(0)
  const end = readme.indexOf('\n## ', start + 1)
  return readme.slice(start, end < 0 ? undefined : end)
}

describe('the "Testing your routes" README examples', () => {
  it('type-check with strict settings, importing keyward by package name', async () => {
    // One tsc run for every scratch project's programs (test/_support/typecheck.ts); this file's share.
    const { code, output } = await sharedTypecheck('testing', Object.fromEntries(Object.entries(SNIPPETS).map(([file, { code }]) => [file, code])))
    expect(output).toBe('')
    expect(code).toBe(0)
  }, RUN_MS)

  it('pass when Vitest runs them', async () => {
    const { status, output, report } = await vitest()
    expect(report, output).not.toBe('')
    const json = JSON.parse(report) as { testResults: { name: string; assertionResults: { title: string; status: string }[] }[] }
    const byFile = Object.fromEntries(
      json.testResults.map((f) => [f.name.slice(project.length + 1), f.assertionResults.map((a) => `${a.status}: ${a.title}`).sort()]),
    )
    const expected = Object.fromEntries(Object.entries(SNIPPETS).map(([file, s]) => [file, s.tests.map((t) => `passed: ${t}`)]))
    expect(byFile).toEqual(expected)
    expect(status, output).toBe(0)
  }, RUN_MS)

  it('are in docs/testing.md verbatim, with the Jest configurations of examples/jest-consumer', () => {
    const section = readmeSection()
    for (const [file, { code }] of Object.entries(SNIPPETS)) expect(section.includes(code), file).toBe(true)
    for (const file of ['jest.config.cjs', 'jest.esm.config.mjs']) {
      expect(section.includes(readFileSync(join(ROOT, 'examples/jest-consumer', file), 'utf8')), file).toBe(true)
    }
  })
})
