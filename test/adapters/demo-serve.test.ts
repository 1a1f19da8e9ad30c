/**
 * `npm run demo -- --serve`, run as a child process: after the scripted tour it keeps one server
 * on loopback with the example API and the admin console, prints the console's URL and a demo
 * admin key, and stops cleanly on Ctrl-C (SIGINT). Bounded: the child is killed after 60 s.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { CONSOLE_CSP } from '../../src/admin/_http.js'
import { parseKey } from '../../src/index.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

interface Printed {
  consoleUrl: string
  adminKey: string
}

/**
 * Starts `tsx examples/demo.ts --serve`; `use` runs once the URL and key are printed, then the
 * child gets SIGINT. Resolves to its exit code and everything it printed.
 */
function serveDemo(use: (p: Printed) => Promise<void>): Promise<{ code: number | null; out: string; used: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo.ts', '--serve'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PORT: '0' },
    })
    let out = ''
    let used: Promise<void> | undefined
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s
      if (used !== undefined || !out.includes('Ctrl-C to stop.')) return
      const consoleUrl = /Admin console: (\S+)/.exec(out)?.[1] ?? ''
      const adminKey = /Admin key: (\S+)/.exec(out)?.[1] ?? ''
      used = use({ consoleUrl, adminKey }).finally(() => child.kill('SIGINT'))
      // Reported through `used`; this only keeps Node from flagging it before it is awaited.
      used.catch(() => undefined)
    })
    child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s))
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, out, used: used ?? Promise.reject(new Error(`the server never printed its URL:\n${out}`)) })
    })
  })
}

describe('npm run demo -- --serve', () => {
  it('runs the tour, then serves the console and the API on loopback with a printed admin key, until Ctrl-C', async () => {
    const seen: { page?: number; csp?: string | null; keys?: number; listed?: number; issued?: number; api?: number } = {}
    const { code, out, used } = await serveDemo(async ({ consoleUrl, adminKey }) => {
      expect(consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/admin\/$/)
      expect(parseKey(adminKey)).toBeDefined()
      const page = await fetch(consoleUrl)
      seen.page = page.status
      seen.csp = page.headers.get('content-security-policy')
      expect(await page.text()).toContain('<title>keyward · API keys</title>')
      const keys = await fetch(`${consoleUrl}api/keys`, { headers: { 'x-api-key': adminKey } })
      seen.keys = keys.status
      seen.listed = ((await keys.json()) as { items: unknown[] }).items.length
      // A key issued through the admin API works on the example API at once: one store.
      const issued = await fetch(`${consoleUrl}api/keys`, {
        method: 'POST',
        headers: { 'x-api-key': adminKey, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'user', owner: 'you@acme.test', role: 'Read Only' }),
      })
      seen.issued = issued.status
      const { key } = (await issued.json()) as { key: string }
      seen.api = (await fetch(new URL('/apps', consoleUrl), { headers: { 'x-api-key': key } })).status
    })
    await used
    expect(out).toMatch(/All \d+ requests got the expected answer\./)
    expect(out).toContain('printed on purpose')
    // The seven example keys and the admin key.
    expect(seen).toEqual({ page: 200, csp: CONSOLE_CSP, keys: 200, listed: 8, issued: 201, api: 200 })
    expect(code).toBe(0)
  }, 90_000)

  it('refuses an unknown argument with a usage line and exit code 2, serving nothing', async () => {
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo.ts', '--srve'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
      let text = ''
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
      child.stdout.setEncoding('utf8').on('data', (s: string) => (text += s))
      child.stderr.setEncoding('utf8').on('data', (s: string) => (text += s))
      child.on('error', reject)
      child.on('close', (c) => {
        clearTimeout(timer)
        resolve({ code: c, out: text })
      })
    })
    expect(out).toContain('usage: npm run demo [-- --serve]')
    expect(out).not.toContain('Admin console:')
    expect(code).toBe(2)
  }, 90_000)
})
