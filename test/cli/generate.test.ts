import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli.js'
import { hashKey, parseKey } from '../../src/index.js'
import { fakeIo, PEPPER } from './_io.js'

/** Parses the text output of `generate`: `key:  …` and `hash: …` lines. */
function parseText(out: string): { key: string; hash: string } {
  const m = /^key: {2}(\S+)\nhash: (\S+)\n$/.exec(out)
  if (m === null) throw new Error(`unexpected generate output shape (${out.length} chars)`)
  return { key: m[1]!, hash: m[2]! }
}

describe('keyward generate', () => {
  it('prints a new key with the default prefix and its SHA-256 hash', async () => {
    const f = fakeIo()
    expect(await main(['generate'], f.io)).toBe(0)
    const { key, hash } = parseText(f.out())
    expect(parseKey(key)).toEqual({ valid: true, prefix: 'kw' })
    expect(hash).toBe(hashKey(key))
    expect(f.err()).toContain('SHA-256 (KEYWARD_PEPPER is not set)')
    expect(f.err()).not.toContain(key)
  })

  it('uses --prefix and --env in the key', async () => {
    const f = fakeIo()
    expect(await main(['generate', '--prefix', 'acme', '--env', 'live'], f.io)).toBe(0)
    const { key } = parseText(f.out())
    expect(key.startsWith('acme_live_')).toBe(true)
    expect(parseKey(key)).toEqual({ valid: true, prefix: 'acme', environment: 'live' })
  })

  it('accepts --opt=value as well as --opt value', async () => {
    const f = fakeIo()
    expect(await main(['generate', '--prefix=acme', '--env=test'], f.io)).toBe(0)
    expect(parseKey(parseText(f.out()).key)).toEqual({ valid: true, prefix: 'acme', environment: 'test' })
  })

  it('prints one JSON object with --json', async () => {
    const f = fakeIo()
    expect(await main(['generate', '--json', '--prefix', 'acme', '--env', 'live'], f.io)).toBe(0)
    expect(f.out().endsWith('}\n')).toBe(true)
    const body = JSON.parse(f.out()) as Record<string, unknown>
    expect(Object.keys(body).sort()).toEqual(['algorithm', 'environment', 'hash', 'key', 'prefix'])
    expect(body).toMatchObject({ algorithm: 'sha256', prefix: 'acme', environment: 'live' })
    expect(body.hash).toBe(hashKey(body.key as string))
    expect(f.err()).toBe('')
  })

  it('leaves environment out of the JSON when there is none', async () => {
    const f = fakeIo()
    expect(await main(['generate', '--json'], f.io)).toBe(0)
    const body = JSON.parse(f.out()) as Record<string, unknown>
    expect(body).not.toHaveProperty('environment')
    expect(body.prefix).toBe('kw')
  })

  it('creates a different key each time', async () => {
    const keys = new Set<string>()
    for (let i = 0; i < 20; i++) {
      const f = fakeIo()
      await main(['generate', '--json'], f.io)
      keys.add((JSON.parse(f.out()) as { key: string }).key)
    }
    expect(keys.size).toBe(20)
  })

  it('hashes with HMAC-SHA-256 keyed by KEYWARD_PEPPER when it is set', async () => {
    const f = fakeIo({}, { KEYWARD_PEPPER: PEPPER })
    expect(await main(['generate', '--json'], f.io)).toBe(0)
    const body = JSON.parse(f.out()) as { key: string; hash: string; algorithm: string }
    expect(body.algorithm).toBe('hmac-sha256')
    expect(body.hash).toBe(hashKey(body.key, PEPPER))
    expect(body.hash).not.toBe(hashKey(body.key))
    expect(f.out()).not.toContain(PEPPER)
  })

  it('says in text mode which hash it made, without printing the pepper', async () => {
    const f = fakeIo({}, { KEYWARD_PEPPER: PEPPER })
    expect(await main(['generate'], f.io)).toBe(0)
    const { key, hash } = parseText(f.out())
    expect(hash).toBe(hashKey(key, PEPPER))
    expect(f.err()).toContain('HMAC-SHA-256 keyed with KEYWARD_PEPPER')
    expect(f.out() + f.err()).not.toContain(PEPPER)
  })

  it('counts the pepper in UTF-8 bytes, as the library does: 32 bytes pass, 31 do not', async () => {
    const ok = fakeIo({}, { KEYWARD_PEPPER: 'p'.repeat(32) })
    expect(await main(['generate', '--json'], ok.io)).toBe(0)
    const short = fakeIo({}, { KEYWARD_PEPPER: 'p'.repeat(31) })
    expect(await main(['generate', '--json'], short.io)).toBe(2)
    // 11 × "€" is 11 characters but 33 bytes: long enough.
    const euro = fakeIo({}, { KEYWARD_PEPPER: '€'.repeat(11) })
    expect(await main(['generate', '--json'], euro.io)).toBe(0)
    const body = JSON.parse(euro.out()) as { key: string; hash: string }
    expect(body.hash).toBe(hashKey(body.key, '€'.repeat(11)))
  })

  it('refuses a short pepper as a usage error, prints no key and does not echo the pepper', async () => {
    const pepper = 'too-short-secret'
    const f = fakeIo({}, { KEYWARD_PEPPER: pepper })
    expect(await main(['generate'], f.io)).toBe(2)
    expect(f.out()).toBe('')
    expect(f.err()).toMatch(/^keyward: KEYWARD_PEPPER is too short: a pepper must be at least 32 bytes/)
    expect(f.err()).not.toContain(pepper)
  })

  it('refuses an empty KEYWARD_PEPPER instead of silently hashing without one', async () => {
    const f = fakeIo({}, { KEYWARD_PEPPER: '' })
    expect(await main(['generate'], f.io)).toBe(2)
    expect(f.out()).toBe('')
    expect(f.err()).toContain('KEYWARD_PEPPER is set but empty')
  })

  it('refuses a bad --prefix or --env naming the option, and prints no key', async () => {
    const p = fakeIo()
    expect(await main(['generate', '--prefix', 'KW'], p.io)).toBe(2)
    expect(p.err()).toMatch(/^keyward: --prefix: must be 1-16 lower-case letters or digits, starting with a letter/)
    expect(p.err()).not.toContain('KW') // an option's value is never repeated: it may be a key
    expect(p.out()).toBe('')
    const e = fakeIo()
    expect(await main(['generate', '--env', 'Live!'], e.io)).toBe(2)
    expect(e.err()).toMatch(/^keyward: --env: must be 1-16 lower-case letters or digits/)
    expect(e.err()).not.toContain('Live!')
    expect(e.out()).toBe('')
  })

  it('refuses an option without its value, even when another option follows', async () => {
    for (const argv of [['generate', '--prefix'], ['generate', '--prefix', '--json'], ['generate', '--env', '-']]) {
      const f = fakeIo()
      expect(await main(argv, f.io)).toBe(2)
      expect(f.err()).toMatch(/needs a value/)
      expect(f.out()).toBe('')
    }
  })

  it('refuses a repeated option, a value on a flag and a stray argument', async () => {
    const cases: [string[], RegExp][] = [
      [['generate', '--prefix', 'a', '--prefix', 'b'], /--prefix is given more than once/],
      [['generate', '--json=yes'], /--json takes no value/],
      [['generate', 'acme'], /generate takes no arguments/],
      [['generate', '--count', '3'], /unknown option --count/],
    ]
    for (const [argv, message] of cases) {
      const f = fakeIo()
      expect(await main(argv, f.io)).toBe(2)
      expect(f.err()).toMatch(message)
      expect(f.out()).toBe('')
    }
  })

  it('never reads stdin', async () => {
    const f = fakeIo({ after: 'explode' })
    expect(await main(['generate'], f.io)).toBe(0)
    expect(f.reads()).toBe(0)
  })
})
