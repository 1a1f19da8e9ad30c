/**
 * Frameworks are optional peers: importing keyward's core must never load one. A child process
 * imports a module with resolve hooks that record every module URL resolved, and the test looks
 * for express, koa, hono or @hono/node-server among them. A positive control (an example that
 * does import Express) proves the recording would catch it.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))
const FRAMEWORK = /\/node_modules\/(express|express4|koa|hono|@hono\/node-server)\//

/** Every module URL resolved while importing `entry` (a path relative to the repository root). */
function resolvedWhileImporting(entry: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-loads-'))
  const log = join(dir, 'loads.txt')
  const register = pathToFileURL(join(root, 'test/adapters/_loader/register.mjs')).href
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--import', register, 'test/adapters/_loader/load.ts', entry],
      { cwd: root, env: { ...process.env, KEYWARD_LOAD_LOG: log }, timeout: 60_000 },
      (err, _stdout, stderr) => {
        try {
          if (err) throw new Error(`child failed: ${stderr}`)
          resolve(readFileSync(log, 'utf8').split('\n').filter(Boolean))
        } catch (e) {
          reject(e)
        } finally {
          rmSync(dir, { recursive: true, force: true })
        }
      },
    )
  })
}

describe('importing keyward loads no web framework', () => {
  it('the core entry (src/index.ts) resolves its own dependencies but no framework', async () => {
    const urls = await resolvedWhileImporting('src/index.ts')
    expect(urls.some((u) => u.endsWith('/src/authorize.ts'))).toBe(true)
    expect(urls.some((u) => u.includes('/node_modules/ipaddr.js/'))).toBe(true)
    // On Node the native hash is used: noble and jose are loaded only where they are needed.
    expect(urls.filter((u) => u.includes('/node_modules/@noble/hashes/') || u.includes('/node_modules/jose/'))).toEqual([])
    expect(urls.filter((u) => FRAMEWORK.test(u))).toEqual([])
  })

  it.each(['src/adapters/express.ts', 'src/adapters/koa.ts', 'src/adapters/hono.ts'])(
    '%s only uses its framework for types, so importing it loads none',
    async (entry) => {
      const urls = await resolvedWhileImporting(entry)
      expect(urls.some((u) => u.endsWith(`/${entry}`))).toBe(true)
      expect(urls.filter((u) => FRAMEWORK.test(u))).toEqual([])
    },
  )

  it('would notice a framework import (positive control: the Express example)', async () => {
    const urls = await resolvedWhileImporting('examples/express.ts')
    expect(urls.some((u) => /\/node_modules\/express\//.test(u))).toBe(true)
  })
})
