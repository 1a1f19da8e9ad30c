import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli.js'
import { generateKey, hashKey } from '../../src/index.js'
import { fakeIo, PEPPER } from './_io.js'

const KEY = generateKey({ environment: 'live' })

/** Runs `keyward hash` on scripted stdin; checks the key never appears in any output. */
async function hash(stdin: Parameters<typeof fakeIo>[0], env: Record<string, string> = {}, args: string[] = []) {
  const f = fakeIo(stdin, env)
  const status = await main(['hash', ...args], f.io)
  expect(f.out()).not.toContain(KEY)
  expect(f.err()).not.toContain(KEY)
  return { status, out: f.out(), err: f.err(), reads: f.reads(), rawModes: f.rawModes }
}

describe('keyward hash', () => {
  it('prints the SHA-256 hash of the key read from stdin, and only the hash', async () => {
    const r = await hash({ chunks: [`${KEY}\n`] })
    expect(r.status).toBe(0)
    expect(r.out).toBe(`${hashKey(KEY)}\n`)
    expect(r.err).toBe('')
  })

  it('trims exactly one line ending: LF, CR LF, or none at end of input', async () => {
    for (const input of [`${KEY}\n`, `${KEY}\r\n`, KEY]) {
      const r = await hash({ chunks: [input] })
      expect(r.status).toBe(0)
      expect(r.out).toBe(`${hashKey(KEY)}\n`)
    }
  })

  it('reassembles a key split across reads, bytes or strings', async () => {
    const bytes = new TextEncoder().encode(`${KEY}\r\n`)
    const r = await hash({ chunks: [bytes.subarray(0, 5), KEY.slice(5, 20), bytes.subarray(20, bytes.length - 1), '\n'] })
    expect(r.status).toBe(0)
    expect(r.out).toBe(`${hashKey(KEY)}\n`)
  })

  it('uses KEYWARD_PEPPER when set', async () => {
    const r = await hash({ chunks: [`${KEY}\n`] }, { KEYWARD_PEPPER: PEPPER })
    expect(r.status).toBe(0)
    expect(r.out).toBe(`${hashKey(KEY, PEPPER)}\n`)
    expect(r.out).not.toBe(`${hashKey(KEY)}\n`)
  })

  it('prints the hash and its algorithm as JSON with --json', async () => {
    const plain = await hash({ chunks: [`${KEY}\n`] }, {}, ['--json'])
    expect(JSON.parse(plain.out)).toEqual({ hash: hashKey(KEY), algorithm: 'sha256' })
    const peppered = await hash({ chunks: [`${KEY}\n`] }, { KEYWARD_PEPPER: PEPPER }, ['--json'])
    expect(JSON.parse(peppered.out)).toEqual({ hash: hashKey(KEY, PEPPER), algorithm: 'hmac-sha256' })
  })

  it('hashes keys of other shapes too (imported legacy keys are looked up by hash)', async () => {
    const uuid = '0b9c3a4e-5f6d-4c1b-8a2e-9f0d1c2b3a4e'
    const f = fakeIo({ chunks: [`${uuid}\n`] })
    expect(await main(['hash'], f.io)).toBe(0)
    expect(f.out()).toBe(`${hashKey(uuid)}\n`)
  })

  it('accepts "-" as an explicit stdin argument', async () => {
    const r = await hash({ chunks: [`${KEY}\n`] }, {}, ['-'])
    expect(r.status).toBe(0)
    expect(r.out).toBe(`${hashKey(KEY)}\n`)
  })

  it('reads only the first line: nothing after it is pulled from stdin', async () => {
    const r = await hash({ chunks: [`${KEY}\nsecond-line\n`], after: 'explode' })
    expect(r.status).toBe(0)
    expect(r.out).toBe(`${hashKey(KEY)}\n`)
    expect(r.reads).toBe(1)
  })

  it('stops reading an endless line after a bounded number of bytes', async () => {
    const r = await hash({ chunks: ['x'.repeat(100)], after: 'forever' })
    expect(r.status).toBe(2)
    expect(r.err).toBe('keyward: the key on stdin is longer than 512 characters\n')
    expect(r.reads).toBeLessThanOrEqual(6)
    expect(r.out).toBe('')
  })

  it('accepts a 512-character key and refuses 513, as the authorizer does', async () => {
    const ok = await hash({ chunks: [`${'k'.repeat(512)}\r\n`] })
    expect(ok.status).toBe(0)
    expect(ok.out).toBe(`${hashKey('k'.repeat(512))}\n`)
    for (const input of [`${'k'.repeat(513)}\n`, 'k'.repeat(513)]) {
      const long = await hash({ chunks: [input] })
      expect(long.status).toBe(2)
      expect(long.err).toMatch(/longer than 512/)
    }
  })

  it('refuses empty input and an empty first line', async () => {
    for (const chunks of [[], [''], ['\n'], ['\r\n'], [`\n${KEY}\n`]]) {
      const r = await hash({ chunks })
      expect(r.status).toBe(2)
      expect(r.err).toBe('keyward: no key on stdin (empty input or empty line)\n')
      expect(r.out).toBe('')
    }
  })

  it('refuses, without echoing, a key with whitespace, controls or non-ASCII instead of altering it', async () => {
    const bad = [` ${KEY}\n`, `${KEY} \n`, `${KEY}\t\n`, `${KEY}\r`, `${KEY}\r\r\n`, `${KEY}\u0000\n`, `${KEY}é\n`, `\u001b[A${KEY}\n`]
    for (const input of bad) {
      const r = await hash({ chunks: [input] })
      expect(r.status).toBe(2)
      expect(r.err).toMatch(/space, tab, control or non-ASCII/)
      expect(r.out).toBe('')
    }
  })

  it('refuses a key given as an argument, without echoing it', async () => {
    const r = await hash({ after: 'explode' }, {}, [KEY])
    expect(r.status).toBe(2)
    expect(r.err).toMatch(/reads the key from stdin and takes no argument/)
    expect(r.reads).toBe(0)
  })

  it('refuses a short pepper before reading the key', async () => {
    const r = await hash({ chunks: [`${KEY}\n`], after: 'explode' }, { KEYWARD_PEPPER: 'Tiny-Secret' })
    expect(r.status).toBe(2)
    expect(r.err).toMatch(/KEYWARD_PEPPER is too short/)
    expect(r.err).not.toContain('Tiny-Secret')
    expect(r.reads).toBe(0)
  })

  it('reports a failing stdin as a failure (exit 1), not a crash', async () => {
    const f = fakeIo({ after: 'explode' })
    expect(await main(['hash'], f.io)).toBe(1)
    expect(f.err()).toMatch(/^keyward: failed: /)
    expect(f.out()).toBe('')
  })
})

describe('keyward hash on a terminal', () => {
  it('turns echo off before prompting, and back on after', async () => {
    const r = await hash({ chunks: [`${KEY}\r`], tty: true })
    expect(r.status).toBe(0)
    expect(r.out).toBe(`${hashKey(KEY)}\n`)
    expect(r.rawModes).toEqual([true, false])
    expect(r.err).toBe('Key (input hidden): \n')
  })

  it('ends the key at Enter (CR or LF) or Ctrl-D, and reads no further', async () => {
    for (const end of ['\r', '\n', '\u0004']) {
      const r = await hash({ chunks: [`${KEY}${end}ignored`], tty: true, after: 'explode' })
      expect(r.status).toBe(0)
      expect(r.out).toBe(`${hashKey(KEY)}\n`)
    }
  })

  it('applies Backspace, Delete and Ctrl-U as line editing', async () => {
    const typed = `x\u0015${KEY.slice(0, 10)}zz\u007f\u0008${KEY.slice(10)}\r`
    const r = await hash({ chunks: [...typed], tty: true })
    expect(r.status).toBe(0)
    expect(r.out).toBe(`${hashKey(KEY)}\n`)
  })

  it('cancels on Ctrl-C with status 1 and no hash, restoring echo', async () => {
    const r = await hash({ chunks: [`${KEY.slice(0, 8)}\u0003`], tty: true, after: 'explode' })
    expect(r.status).toBe(1)
    expect(r.out).toBe('')
    expect(r.err).toMatch(/cancelled/)
    expect(r.rawModes).toEqual([true, false])
  })

  it('restores echo when the typed key is too long', async () => {
    const r = await hash({ chunks: ['k'.repeat(100)], tty: true, after: 'forever' })
    expect(r.status).toBe(2)
    expect(r.err).toMatch(/longer than 512/)
    expect(r.rawModes).toEqual([true, false])
    expect(r.reads).toBeLessThanOrEqual(6)
  })

  it('refuses an arrow key or other escape sequence in the key', async () => {
    const r = await hash({ chunks: [`${KEY}\u001b[D\r`], tty: true })
    expect(r.status).toBe(2)
    expect(r.err).toMatch(/space, tab, control or non-ASCII/)
  })
})
