/**
 * The README's admin mounting snippets work when copied into a fresh project: the set-up block
 * joined with each framework's mount block is type-checked with strict settings, importing
 * `keyward`, `keyward/admin`, `keyward/express` and `keyward/koa` by package name (this run's
 * build, as installed), then run as compiled by esbuild (`programArgs`) and called over HTTP on
 * 127.0.0.1.
 */
import { spawn } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONSOLE_CSP } from '../../src/admin/_http.js'
import { BUILD_MS, freePort, programArgs, ROOT, scratchProject } from '../_support/scratch.js'
import { sharedTypecheck } from '../_support/typecheck.js'
import { EXPRESS, HONO, KOA, SETUP } from './_admin-readme.js'

const PROGRAMS = { hono: `${SETUP}\n${HONO}`, express: `${SETUP}\n${EXPRESS}`, koa: `${SETUP}\n${KOA}` } as const
let project = ''

describe('the README admin mounting snippets', () => {
  it('are in docs/admin.md verbatim', () => {
    const readme = readFileSync(join(ROOT, 'docs/admin.md'), 'utf8')
    for (const [name, block] of Object.entries({ SETUP, HONO, EXPRESS, KOA })) expect(readme.includes(block), name).toBe(true)
  })
})

beforeAll(async () => {
  project = await scratchProject('keyward-admin-readme-', PROGRAMS)
}, BUILD_MS)

afterAll(() => rmSync(project, { recursive: true, force: true }))

/** Starts program `name`, compiled, on `port`; resolves once it answers HTTP, with its output and a way to stop it. */
async function start(name: string, port: number): Promise<{ output: () => string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, programArgs(name, 'compiled'), { cwd: project, env: { ...process.env, PORT: String(port) } })
  let out = ''
  let exited = false
  const closed = new Promise<void>((r) => child.on('close', () => ((exited = true), r())))
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s))
  child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s))
  const stop = async (): Promise<void> => {
    if (!exited) child.kill('SIGKILL')
    await closed
  }
  // Bounded: at most 600 tries 50 ms apart; the program prints nothing when it is listening.
  for (let i = 0; i < 600 && !exited; i++) {
    try {
      await (await fetch(`http://127.0.0.1:${port}/`)).arrayBuffer()
      return { output: () => out, stop }
    } catch {
      await sleep(50)
    }
  }
  await stop()
  throw new Error(`${name} never answered on port ${port}:\n${out}`)
}

describe('the README admin mounting snippets, in a fresh project', () => {
  it('type-check with strict settings, importing keyward by package name', async () => {
    // One tsc run for every scratch project's programs (test/_support/typecheck.ts); this file's share.
    const { code, output } = await sharedTypecheck('admin-readme', PROGRAMS)
    expect(output).toBe('')
    expect(code).toBe(0)
  }, 120_000)

  it.each(Object.keys(PROGRAMS))('%s: serves the console under /admin and audits an unauthenticated API call', async (name) => {
    const port = await freePort()
    const { output, stop } = await start(name, port)
    try {
      const page = await fetch(`http://127.0.0.1:${port}/admin/`)
      expect(page.status).toBe(200)
      expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP)
      expect(await page.text()).toContain('<script src="/admin/console.js" defer></script>')
      const me = await fetch(`http://127.0.0.1:${port}/admin/api/me`)
      expect(me.status).toBe(401)
      expect(((await me.json()) as { code: string }).code).toBe('missing_credentials')
      // The set-up's onAudit line, written by the handler behind this mount.
      await expect.poll(output).toContain('"action":"getSession","outcome":"denied","status":401')
    } finally {
      await stop()
    }
  }, 60_000)
})
