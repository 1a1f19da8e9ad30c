/**
 * The README quick starts work when copied into a fresh project: a scratch project (in the OS
 * temp dir) has `keyward` in node_modules (this run's build, with the published `exports` map),
 * resolved by package name, plus the frameworks. Each snippet is type-checked with strict settings, then
 * run with tsx and called over HTTP on 127.0.0.1.
 */
import { spawn } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BUILD_MS, freePort, programArgs, ROOT, scratchProject } from '../_support/scratch.js'
import { sharedTypecheck } from '../_support/typecheck.js'
import { EXPRESS, FASTIFY, HONO, KOA } from './_quickstart.js'

const SNIPPETS = { express: EXPRESS, koa: KOA, hono: HONO, fastify: FASTIFY } as const
let project = ''

beforeAll(async () => {
  project = await scratchProject('keyward-fresh-', SNIPPETS)
}, BUILD_MS)

afterAll(() => rmSync(project, { recursive: true, force: true }))

/** Starts `<name>.ts` with tsx; resolves once it printed its key, with a way to stop it. */
function startSnippet(name: string, port: number): Promise<{ key: string; stop: () => Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, programArgs(name, 'tsx'), { cwd: project, env: { ...process.env, PORT: String(port) } })
    const exited = new Promise<number | null>((r) => child.on('close', (code, signal) => r(code ?? (signal ? 0 : null))))
    let out = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${name} did not start: ${out}`))
    }, 30_000)
    child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s))
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s
      const m = /New key \(shown once\): (\S+)\n/.exec(out)
      if (m && out.includes('curl ')) {
        clearTimeout(timer)
        resolve({ key: m[1]!, stop: () => (child.kill('SIGTERM'), exited) })
      }
    })
    child.on('error', reject)
  })
}

describe('the README quick starts', () => {
  it('are in docs/adapters.md verbatim, and the Express one in README.md', () => {
    const page = readFileSync(join(ROOT, 'docs/adapters.md'), 'utf8')
    for (const [name, program] of Object.entries({ EXPRESS, KOA, HONO, FASTIFY })) expect(page.includes(program), name).toBe(true)
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8').includes(EXPRESS), 'README.md').toBe(true)
  })
})

describe('the README quick starts, in a fresh project', () => {
  it('type-check with strict settings, importing keyward by package name', async () => {
    // One tsc run for every scratch project's programs (test/_support/typecheck.ts); this file's share.
    const { code, output } = await sharedTypecheck('quickstart', SNIPPETS)
    expect(output).toBe('')
    expect(code).toBe(0)
  }, 120_000)

  it.each(Object.keys(SNIPPETS))('%s: allows the key where its role permits, denies it elsewhere', async (name) => {
    const port = await freePort()
    const { key, stop } = await startSnippet(name, port)
    try {
      const base = `http://127.0.0.1:${port}/scans`
      const ok = await fetch(base, { headers: { 'X-Api-Key': key } })
      expect(ok.status).toBe(200)
      expect(await ok.json()).toEqual({ scans: [], caller: 'ana@example.com' })
      const forbidden = await fetch(base, { method: 'POST', headers: { 'X-Api-Key': key } })
      expect(forbidden.status).toBe(403)
      expect((await forbidden.json()).code).toBe('insufficient_permission')
      const missing = await fetch(base)
      expect(missing.status).toBe(401)
      expect(missing.headers.get('www-authenticate')).toBe('ApiKey realm="api", header="X-Api-Key"')
    } finally {
      await stop()
    }
  }, 60_000)
})
