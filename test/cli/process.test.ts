/**
 * The CLI as a real process, as a user runs it: the package's `bin`, the built `dist/cli.js`, on
 * plain Node (this run's build, made or found fresh by the globalSetup). Exit statuses, stdin that
 * stays open, a closed stdout, the entry-point guard, the `bin` symlink, and echo on a real
 * terminal. The package test runs the same bin installed from the tarball; the other files
 * here test the commands in-process, on the source.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKey, hashKey } from '../../src/index.js'
import { builtDist } from '../package/_global-pack.js'
import { BUILD_MS } from '../_support/scratch.js'
import { PEPPER } from './_io.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = join(ROOT, 'dist/cli.js')
const KEY = generateKey({ environment: 'live' })

beforeAll(builtDist, BUILD_MS)

function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  if (!('KEYWARD_PEPPER' in extra)) delete env.KEYWARD_PEPPER
  return env
}

interface Run {
  status: number | null
  stdout: string
  stderr: string
}

/**
 * Runs `node <script> …args`. `input` is written to stdin; stdin is then closed
 * unless `keepOpen`, which leaves it open until the child exits (a writer that never finishes).
 */
function run(args: string[], options: { input?: string; keepOpen?: boolean; env?: Record<string, string>; script?: string; closeStdout?: boolean } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.script ?? CLI, ...args], { cwd: ROOT, env: childEnv(options.env) })
    let stdout = ''
    let stderr = ''
    if (options.closeStdout === true) child.stdout.destroy()
    else child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (status) => resolve({ status, stdout, stderr }))
    child.stdin.on('error', () => {}) // the child may exit before reading everything
    if (options.input !== undefined) child.stdin.write(options.input)
    if (options.keepOpen !== true) child.stdin.end()
  })
}

const tmp = mkdtempSync(join(tmpdir(), 'keyward-cli-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

// Generous timeouts: each case starts Node, slow on a loaded CI machine. A CLI that waits for
// EOF instead of stopping at the first line fails by timing out.
describe.concurrent('keyward as a process', { timeout: 60_000 }, () => {
  it('exits 0, 1 and 2 for success, an invalid key and a usage error', async () => {
    const [help, invalid, usage] = await Promise.all([run(['--help']), run(['check', 'not-a-key']), run(['frobnicate'])])
    expect(help.status).toBe(0)
    expect(help.stdout).toContain('Usage:')
    expect(invalid.status).toBe(1)
    expect(invalid.stdout).toBe('not a keyward key\n')
    expect(usage.status).toBe(2)
    expect(usage.stderr).toBe('keyward: unknown command "frobnicate"; run "keyward --help"\n')
  })

  it('generates a key whose hash uses KEYWARD_PEPPER from the environment', async () => {
    const r = await run(['generate', '--json', '--env', 'test'], { env: { KEYWARD_PEPPER: PEPPER } })
    expect(r.status).toBe(0)
    const body = JSON.parse(r.stdout) as { key: string; hash: string }
    expect(body.hash).toBe(hashKey(body.key, PEPPER))
  })

  it('hashes the first line and exits even though stdin stays open', async () => {
    const r = await run(['hash'], { input: `${KEY}\n`, keepOpen: true })
    expect(r.status).toBe(0)
    expect(r.stdout).toBe(`${hashKey(KEY)}\n`)
    expect(r.stderr).not.toContain(KEY)
  })

  it('checks a key from a pipe with "check -"', async () => {
    const r = await run(['check', '-'], { input: `${KEY}\r\n` })
    expect(r.status).toBe(0)
    expect(r.stdout).toBe('valid keyward key (prefix kw, environment live)\n')
  })

  it('fails quietly (status 1, no stack trace) when stdout is closed', async () => {
    const r = await run(['generate'], { closeStdout: true })
    expect(r.status).toBe(1)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(r.stderr).not.toMatch(/Error/)
  })

  it('does nothing when imported as a module rather than run', async () => {
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(CLI)})`], {
      cwd: ROOT,
      env: childEnv(),
      encoding: 'utf8',
    })
    expect(child.status).toBe(0)
    expect(child.stdout).toBe('')
    expect(child.stderr).toBe('')
  })

  it('runs through a symlink, as npm installs the bin', async () => {
    const link = join(tmp, 'keyward')
    symlinkSync(CLI, link)
    const r = await run(['check', '-'], { input: `${KEY}\n`, script: link })
    expect(r.status).toBe(0)
    expect(r.stdout).toBe('valid keyward key (prefix kw, environment live)\n')
  })
})

// A real terminal: `script` (util-linux) runs the CLI on a pseudo-terminal. The key is typed
// only once the prompt is shown; the terminal would echo it into the transcript unless the CLI
// turned echo off first.
const hasScript = process.platform === 'linux' && spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0

describe('keyward hash on a real terminal', { timeout: 60_000 }, () => {
  it.skipIf(!hasScript)('does not echo the typed key (needs util-linux script)', async () => {
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} hash`
    const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd: ROOT, env: childEnv() })
    let transcript = ''
    let typed = false
    child.stdout.on('data', (d: Buffer) => {
      transcript += d.toString()
      if (!typed && transcript.includes('Key (input hidden): ')) {
        typed = true
        child.stdin.write(`${KEY}\r`)
      }
    })
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(typed).toBe(true)
    expect(status).toBe(0)
    expect(transcript).toContain(hashKey(KEY))
    expect(transcript).not.toContain(KEY)
  })
})
