/**
 * The migration guides' before/after programs run and answer alike: each is type-checked with
 * strict settings in a scratch project (keyward imported by package name, the library migrated
 * from installed beside it), started as compiled by esbuild (`programArgs`), and called over HTTP
 * on 127.0.0.1 with the same existing key, a wrong key and no key. And the guides hold them
 * verbatim.
 */
import { spawn } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BUILD_MS, freePort, programArgs, ROOT, scratchProject } from '../_support/scratch.js'
import { sharedTypecheck } from '../_support/typecheck.js'
import { HONO_AFTER, HONO_BEFORE, PASSPORT_AFTER, PASSPORT_BEFORE } from './_migrate.js'

const PROGRAMS = {
  'passport-before': PASSPORT_BEFORE,
  'passport-after': PASSPORT_AFTER,
  'hono-before': HONO_BEFORE,
  'hono-after': HONO_AFTER,
} as const
/** An existing key of the old set-up: not a keyward key, so it is imported as a legacy key. */
const EXISTING = 'legacy-4f1c9a0e-7b2d-4e8a-9c3f-1a2b3c4d5e6f'
let project = ''

beforeAll(async () => {
  project = await scratchProject('keyward-migrate-', PROGRAMS, ['passport', 'passport-headerapikey', 'passport-strategy'])
}, BUILD_MS)

afterAll(() => rmSync(project, { recursive: true, force: true }))

/** Starts program `name`, compiled; resolves once it printed that it listens, with a way to stop it. */
function start(name: string, port: number): Promise<() => Promise<void>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, programArgs(name, 'compiled'), {
      cwd: project,
      env: { ...process.env, PORT: String(port), API_KEY: EXISTING },
    })
    const closed = new Promise<void>((r) => child.on('close', () => r()))
    let out = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${name} did not start: ${out}`))
    }, 30_000)
    child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s))
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s
      if (out.includes('Listening on ')) {
        clearTimeout(timer)
        resolve(() => (child.kill('SIGTERM'), closed))
      }
    })
    child.on('error', reject)
  })
}

describe('the migration guides', () => {
  it('hold the before/after programs verbatim', () => {
    const passport = readFileSync(join(ROOT, 'docs/migrate-passport-headerapikey.md'), 'utf8')
    const hono = readFileSync(join(ROOT, 'docs/migrate-hono-bearer-auth.md'), 'utf8')
    expect(passport.includes(PASSPORT_BEFORE), 'passport before').toBe(true)
    expect(passport.includes(PASSPORT_AFTER), 'passport after').toBe(true)
    expect(hono.includes(HONO_BEFORE), 'hono before').toBe(true)
    expect(hono.includes(HONO_AFTER), 'hono after').toBe(true)
  })

  it('type-check with strict settings, importing keyward by package name', async () => {
    // One tsc run for every scratch project's programs (test/_support/typecheck.ts); this file's share.
    const { code, output } = await sharedTypecheck('migrate', PROGRAMS)
    expect(output).toBe('')
    expect(code).toBe(0)
  }, 120_000)

  const CASES = [
    ['passport-before', 'x-api-key'],
    ['passport-after', 'x-api-key'],
    ['hono-before', 'bearer'],
    ['hono-after', 'bearer'],
  ] as const
  it.each(CASES)('%s: allows the existing key, refuses a wrong key and no key with 401', async (name, how) => {
    const port = await freePort()
    const stop = await start(name, port)
    const send = (key?: string): Promise<Response> =>
      fetch(`http://127.0.0.1:${port}/scans`, {
        headers: key === undefined ? {} : how === 'bearer' ? { authorization: `Bearer ${key}` } : { 'x-api-key': key },
      })
    try {
      const ok = await send(EXISTING)
      expect(ok.status).toBe(200)
      expect(await ok.json()).toEqual({ scans: [], caller: 'ana@example.com' })
      expect((await send(`${EXISTING}x`)).status).toBe(401)
      expect((await send()).status).toBe(401)
    } finally {
      await stop()
    }
  }, 60_000)
})
