import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli.js'
import { generateKey, parseKey } from '../../src/index.js'
import { fakeIo } from './_io.js'

const LIVE = generateKey({ environment: 'live' })
const BARE = generateKey({ prefix: 'acme' })
/** LIVE with its last checksum character changed: right shape, wrong checksum. */
const TYPO = LIVE.slice(0, -1) + (LIVE.endsWith('0') ? '1' : '0')

/** Runs `keyward check …`; checks that `key` never appears in any output. */
async function check(args: string[], key: string, stdin?: Parameters<typeof fakeIo>[0]) {
  const f = fakeIo(stdin)
  const status = await main(['check', ...args], f.io)
  expect(f.out()).not.toContain(key)
  expect(f.err()).not.toContain(key)
  return { status, out: f.out(), err: f.err(), reads: f.reads() }
}

describe('keyward check', () => {
  it('says a valid key is valid, naming prefix and environment but not the key', async () => {
    const r = await check([LIVE], LIVE)
    expect(r.status).toBe(0)
    expect(r.out).toBe('valid keyward key (prefix kw, environment live)\n')
    expect(r.err).toBe('')
  })

  it('says when a valid key has no environment', async () => {
    const r = await check([BARE], BARE)
    expect(r.status).toBe(0)
    expect(r.out).toBe('valid keyward key (prefix acme, no environment)\n')
  })

  it('reads the key from stdin with "-"', async () => {
    for (const input of [`${LIVE}\n`, `${LIVE}\r\n`, LIVE]) {
      const r = await check(['-'], LIVE, { chunks: [input] })
      expect(r.status).toBe(0)
      expect(r.out).toBe('valid keyward key (prefix kw, environment live)\n')
    }
  })

  it('reports a checksum mismatch with status 1', async () => {
    expect(parseKey(TYPO)?.valid).toBe(false)
    for (const r of [await check([TYPO], TYPO), await check(['-'], TYPO, { chunks: [`${TYPO}\n`] })]) {
      expect(r.status).toBe(1)
      expect(r.out).toBe('checksum mismatch\n')
    }
  })

  it('reports a key of another shape as not a keyward key, with status 1', async () => {
    for (const key of ['0b9c3a4e-5f6d-4c1b-8a2e-9f0d1c2b3a4e', 'KW_live_abc', LIVE.slice(0, -1), `${LIVE}x`, LIVE.replace('_live_', '_LIVE_')]) {
      const r = await check([key], key)
      expect(r.status).toBe(1)
      expect(r.out).toBe('not a keyward key\n')
    }
  })

  it('treats an argument with spaces or controls as not a keyward key, never echoing it', async () => {
    for (const key of [` ${LIVE}`, `${LIVE}\n`, `${LIVE}\u0000`]) {
      const r = await check([key], LIVE)
      expect(r.status).toBe(1)
      expect(r.out).toBe('not a keyward key\n')
    }
  })

  it('prints JSON verdicts with --json', async () => {
    const ok = await check(['--json', LIVE], LIVE)
    expect(JSON.parse(ok.out)).toEqual({ valid: true, prefix: 'kw', environment: 'live' })
    const bare = await check([BARE, '--json'], BARE)
    expect(JSON.parse(bare.out)).toEqual({ valid: true, prefix: 'acme' })
    const typo = await check(['--json', TYPO], TYPO)
    expect(typo.status).toBe(1)
    expect(JSON.parse(typo.out)).toEqual({ valid: false, reason: 'checksum_mismatch' })
    const other = await check(['--json', 'not-a-key'], 'not-a-key')
    expect(other.status).toBe(1)
    expect(JSON.parse(other.out)).toEqual({ valid: false, reason: 'not_keyward_key' })
  })

  it('takes a key that starts with a dash after "--"', async () => {
    const r = await check(['--', '-legacy-key-0001'], '-legacy-key-0001')
    expect(r.status).toBe(1)
    expect(r.out).toBe('not a keyward key\n')
  })

  it('does not echo a key mistaken for an option', async () => {
    const legacy = '-Zq9xK2_legacy_Key'
    for (const args of [[`--${LIVE}`], [legacy], [`--prefix=${LIVE}`]]) {
      const r = await check(args, LIVE)
      expect(r.status).toBe(2)
      expect(r.err).toMatch(/^keyward: unknown option/)
      expect(r.err).not.toContain(legacy)
      expect(r.err).not.toContain('Zq9xK2')
    }
  })

  it('refuses no key, two keys and an empty key as usage errors', async () => {
    for (const args of [[], [LIVE, BARE], ['-', LIVE], ['']]) {
      const r = await check(args, LIVE)
      expect(r.status).toBe(2)
      expect(r.out).toBe('')
      expect(r.err).toMatch(/^keyward: /)
      expect(r.err).not.toContain(BARE)
    }
  })

  it('refuses empty or unreadable stdin input with "-" as a usage error', async () => {
    const empty = await check(['-'], LIVE, { chunks: ['\n'] })
    expect(empty.status).toBe(2)
    expect(empty.err).toMatch(/no key on stdin/)
    const spaced = await check(['-'], LIVE, { chunks: [` ${LIVE}\n`] })
    expect(spaced.status).toBe(2)
    expect(spaced.out).toBe('')
  })

  it('reads only the first line of stdin', async () => {
    const r = await check(['-'], LIVE, { chunks: [`${LIVE}\n${BARE}\n`], after: 'explode' })
    expect(r.status).toBe(0)
    expect(r.reads).toBe(1)
  })

  it('reads the key with echo off on a terminal', async () => {
    const f = fakeIo({ chunks: [`${LIVE}\r`], tty: true })
    expect(await main(['check', '-'], f.io)).toBe(0)
    expect(f.rawModes).toEqual([true, false])
    expect(f.out()).toBe('valid keyward key (prefix kw, environment live)\n')
    expect(f.err()).not.toContain(LIVE)
  })

  it('does not read stdin when the key is an argument', async () => {
    const r = await check([LIVE], LIVE, { after: 'explode' })
    expect(r.status).toBe(0)
    expect(r.reads).toBe(0)
  })

  it('ignores KEYWARD_PEPPER, even an invalid one: checking needs no hash', async () => {
    const f = fakeIo({}, { KEYWARD_PEPPER: 'short' })
    expect(await main(['check', LIVE], f.io)).toBe(0)
  })
})
