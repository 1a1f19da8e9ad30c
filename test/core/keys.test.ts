import { crc32 as zlibCrc32 } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { generateKey, hashKey, KeyManager, MemoryKeyStore, parseKey } from '../../src/index.js'
import { crc32 } from '../../src/keys/crc32.js'
import { keyStart } from '../../src/keys/format.js'
import { randomBytes } from '../../src/keys/random.js'
import { nobleHasher } from '../../src/keys/_noble.js'
import { nativeHasher } from '../../src/keys/hash.js'

// Vectors computed independently with Python's zlib/hashlib/hmac (see test names).
const PEPPER = 'p'.repeat(32) + 'epper'
const VECTORS: [string, string, string][] = [
  ['kw_test_0000000000000000000000000000000000000', 'KFHoOR3Ud0P-Uhx71kNa9eeeahCi2VN3zfEgXjjO6dQ', '1-kCeDbnjeQsMnekdqpxllO9KIFYjZARtAUD69JTpKA'],
  ['3f0e8a52-6a1c-4c57-9d5e-2a8c1f0b7e44', '9PHSvCl1RN9StTpHoafDhjnAN_DliH_a7mwHXiErugs', 'nMuGcZst3VAFfBe1H5U-dy9FodYslVJwdKS_XJsq6ys'],
  ['abc', 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0', 'B1Iejs9AD1oy6wxrT1266PvX499UV7acvmAVBsF6lbY'],
]

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
/** The 6-character base62 CRC-32 of `body`, from zlib: an independent oracle. */
const encode = (n: number) => {
  let out = ''
  for (let i = 0; i < 6; i++, n = Math.floor(n / 62)) out = B62[n % 62] + out
  return out
}
/** `body` with its right checksum appended. */
const withChecksum = (body: string) => body + encode(zlibCrc32(body))
const SECRET = 'abcdefghijklmnopqrstuvwxyzABCDEF'
/** The shape of a keyward key: prefix, optional environment, 32 base62 characters, 6 of checksum. */
const SHAPE = /^([a-z][a-z0-9]{0,15})(?:_([a-z0-9]{1,16}))?_[0-9A-Za-z]{32}([0-9A-Za-z]{6})$/

describe('generateKey', () => {
  it('produces prefix, environment, 32 random base62 characters and a 6-character checksum', () => {
    const key = generateKey({ prefix: 'acme', environment: 'live' })
    expect(key).toMatch(/^acme_live_[0-9A-Za-z]{38}$/)
    expect(parseKey(key)).toEqual({ valid: true, prefix: 'acme', environment: 'live' })
  })

  it('defaults to the kw prefix and no environment segment', () => {
    expect(generateKey()).toMatch(/^kw_[0-9A-Za-z]{38}$/)
  })

  it('never repeats and uses the whole base62 alphabet', () => {
    const keys = Array.from({ length: 5000 }, () => generateKey())
    expect(new Set(keys).size).toBe(keys.length)
    const chars = new Set(keys.flatMap((k) => [...k.slice(3, 35)]))
    expect(chars.size).toBe(62)
  })

  it('refuses bad prefixes and environments with errors naming the field', () => {
    expect(() => generateKey({ prefix: 'Acme' })).toThrow(/prefix/)
    expect(() => generateKey({ prefix: '' })).toThrow(RangeError)
    expect(() => generateKey({ prefix: 'a_b' })).toThrow(/prefix/)
    expect(() => generateKey({ environment: 'li ve' })).toThrow(/environment/)
    expect(() => generateKey({ prefix: 7 as unknown as string })).toThrow(TypeError)
  })

  it.each([
    ['a prefix that is not a string', { prefix: 7 }, TypeError, /^prefix: must be a string$/],
    ['an upper-case prefix', { prefix: 'Acme' }, RangeError, /^prefix: must be 1-16 lower-case letters or digits, starting with a letter \(the value is not shown: it may be a key\)$/],
    ['an environment that is not a string', { environment: 7 }, TypeError, /^environment: must be a string$/],
    ['an environment with a space', { environment: 'li ve' }, RangeError, /^environment: must be 1-16 lower-case letters or digits \(the value is not shown: it may be a key\)$/],
    ['options that are not an object', null, TypeError, /^options: must be an object$/],
    ['an unknown option', { prefx: 'acme' }, RangeError, /^options: unknown field "prefx"/],
  ])('refuses %s with an error naming the field', (_, options, type, message) => {
    expect(() => generateKey(options as never)).toThrow(type)
    expect(() => generateKey(options as never)).toThrow(message)
  })

  it.each([
    ['a prefix that is not a string', { prefix: 7 }, /^prefix: must be a string$/],
    ['a bad prefix', { prefix: 'Acme' }, /^prefix: must be 1-16 lower-case letters/],
    ['an environment that is not a string', { environment: 7 }, /^environment: must be a string$/],
    ['a bad environment', { environment: 'Live' }, /^environment: must be 1-16 lower-case letters/],
  ])('KeyManager refuses %s when it is constructed, not at its first issue', (_, options, message) => {
    expect(() => new KeyManager(new MemoryKeyStore(), options as never)).toThrow(message)
  })

  it('keeps the start of an issued key: prefix, environment and the first 4 random characters', async () => {
    for (const [options, head] of [[{ prefix: 'acme', environment: 'live' }, 'acme_live_'], [{}, 'kw_']] as const) {
      const { key, record } = await new KeyManager(new MemoryKeyStore(), options).issue({ kind: 'org' })
      expect(record.start).toBe(key.slice(0, head.length + 4))
      expect(record.start).toMatch(new RegExp(`^${head}[0-9A-Za-z]{4}$`))
    }
  })

  it('shows no start for a key without the valid keyward shape', () => {
    expect(keyStart(withChecksum(`kw_live_${SECRET}`))).toBe('kw_live_abcd')
    expect(keyStart(withChecksum(`kw_${SECRET}`))).toBe('kw_abcd')
    expect(keyStart(`kw_live_${SECRET}AAAAAA`)).toBeUndefined() // wrong checksum
    expect(keyStart('3f0e8a52-6a1c-4c57-9d5e-2a8c1f0b7e44')).toBeUndefined()
  })
})

describe('randomBytes', () => {
  it('fills a request above the 65,536 bytes getRandomValues takes at once', () => {
    const bytes = randomBytes(65_536 * 2 + 10)
    expect(bytes.length).toBe(65_536 * 2 + 10)
    // Each chunk is filled: 65,536 zero bytes from a CSPRNG would be a 2^-524288 event.
    for (const at of [0, 65_536, 131_072]) expect(bytes.subarray(at, at + 10).some((b) => b !== 0)).toBe(true)
  })
})

describe('parseKey', () => {
  it('accepts checksum vectors computed with Python zlib.crc32', () => {
    expect(parseKey('kw_live_abcdefghijklmnopqrstuvwxyzABCDEF0DoMtH')).toEqual({ valid: true, prefix: 'kw', environment: 'live' })
    expect(parseKey('kw_0123456789ABCDEFGHIJKLMNOPQRSTUV2jnASr')).toEqual({ valid: true, prefix: 'kw' })
    expect(parseKey('acme_test_ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ2mNGvw')).toEqual({ valid: true, prefix: 'acme', environment: 'test' })
  })

  it("computes the standard CRC-32 check value, and zlib's for every length from 0 to 9", () => {
    expect(crc32('123456789')).toBe(0xcbf43926)
    for (let n = 0; n <= 9; n++) expect([n, crc32('123456789'.slice(0, n))]).toEqual([n, zlibCrc32('123456789'.slice(0, n))])
    expect(crc32('123456789', 5)).toBe(zlibCrc32('12345'))
  })

  it('flags a single changed character as a checksum mismatch', () => {
    expect(parseKey('kw_live_abcdefghijklmnopqrstuvwxyzABCDEG0DoMtH')?.valid).toBe(false)
    expect(parseKey('kw_live_abcdefghijklmnopqrstuvwxyzABCDEF0DoMtI')?.valid).toBe(false)
  })

  it.each([
    ['a first character that is a digit', withChecksum(`0kw_live_${SECRET}`)],
    ['a first character just above z', withChecksum(`{kw_live_${SECRET}`)],
    ['a first character just below a', withChecksum(`\`kw_live_${SECRET}`)],
    ['a dash between prefix and environment', withChecksum(`kw-live_${SECRET}`)],
    ['a colon in the secret', withChecksum(`kw_live_${SECRET.slice(0, 31)}:`)],
    ['an @ in the secret', withChecksum(`kw_live_@${SECRET.slice(1)}`)],
    ['a colon in the checksum', `kw_live_${SECRET}AAAAA:`],
  ])('refuses %s even with a right checksum', (_, key) => {
    expect(SHAPE.test(key)).toBe(false)
    expect(parseKey(key)).toBeUndefined()
  })

  it('answers undefined, without throwing, for a key that is not a string', () => {
    for (const k of [42, null, undefined, { length: 46 }]) expect(parseKey(k as never)).toBeUndefined()
  })

  it('returns undefined for keys that do not have the keyward shape', () => {
    for (const k of ['3f0e8a52-6a1c-4c57-9d5e-2a8c1f0b7e44', '', 'kw_short', 'KW_live_abcdefghijklmnopqrstuvwxyzABCDEF0DoMtH', 'kw_live_abcdefghijklmnopqrstuvwxyzABCDE-0DoMtH']) {
      expect(parseKey(k)).toBeUndefined()
    }
  })

  it('round-trips every generated key (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9]{0,15}$/), fc.option(fc.stringMatching(/^[a-z0-9]{1,16}$/), { nil: undefined }), (prefix, environment) => {
        const key = generateKey({ prefix, environment })
        const parsed = parseKey(key)
        expect(parsed).toEqual(environment === undefined ? { valid: true, prefix } : { valid: true, prefix, environment })
      }),
      { seed: 42, numRuns: 300 },
    )
  })

  it('reads a key with one character changed as its shape with a wrong checksum, or as no keyward key (property)', () => {
    const base = generateKey({ environment: 'live' })
    fc.assert(
      fc.property(fc.nat({ max: base.length - 1 }), fc.constantFrom(...B62), (i, c) => {
        fc.pre(base[i] !== c)
        const mutated = base.slice(0, i) + c + base.slice(i + 1)
        // CRC-32 detects every single-character substitution: never valid. A change in the secret
        // or the checksum keeps prefix and environment; one in the head may leave no keyward shape.
        const m = SHAPE.exec(mutated)
        const expected = m === null ? undefined : m[2] === undefined ? { valid: false, prefix: m[1] } : { valid: false, prefix: m[1], environment: m[2] }
        if (i >= 'kw_live_'.length) expect(expected).toEqual({ valid: false, prefix: 'kw', environment: 'live' })
        expect(parseKey(mutated)).toEqual(expected)
      }),
      { seed: 7, numRuns: 500 },
    )
  })

  it('agrees with a regex and zlib.crc32 oracle on keys, near-keys and random strings (property)', () => {
    const oracle = (s: string) => {
      const m = SHAPE.exec(s)
      if (m === null) return undefined
      const valid = m[3] === encode(zlibCrc32(s.slice(0, -6)))
      return m[2] === undefined ? { valid, prefix: m[1] } : { valid, prefix: m[1], environment: m[2] }
    }
    const part = (max: number) => fc.string({ unit: fc.constantFrom(...'az09AZ_-.é'), maxLength: max })
    // Key-shaped strings with one edited segment: every length and character-class edge.
    const nearKeys = fc
      .tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,16}$/), fc.option(fc.stringMatching(/^[a-z0-9]{0,17}$/), { nil: undefined }), part(3), fc.nat({ max: 40 }), fc.boolean())
      .map(([prefix, env, noise, at, fix]) => {
        const body = `${prefix}_${env === undefined ? '' : `${env}_`}${'x'.repeat(32)}`
        const key = body + (fix ? encode(zlibCrc32(body)) : 'AAAAAA')
        return at % 3 === 0 ? key : key.slice(0, at) + noise + key.slice(at + noise.length)
      })
    // Every length edge of prefix and environment, with a right checksum.
    for (const p of [1, 16, 17]) {
      for (const e of [undefined, 1, 16, 17]) {
        const body = `${'p'.repeat(p)}_${e === undefined ? '' : `${'e'.repeat(e)}_`}${'x'.repeat(32)}`
        const key = body + encode(zlibCrc32(body))
        expect(parseKey(key)).toEqual(oracle(key))
        expect(oracle(key) !== undefined).toBe(p <= 16 && (e === undefined || e <= 16))
      }
    }
    const inputs = fc.oneof(nearKeys, fc.string({ unit: 'binary', maxLength: 80 }), fc.constant(null).map(() => generateKey({ environment: 'live' })))
    fc.assert(
      fc.property(inputs, (s) => {
        expect(parseKey(s)).toEqual(oracle(s))
      }),
      { seed: 8, numRuns: 300 },
    )
  })
})

describe('hashKey', () => {
  it('matches SHA-256 vectors computed with Python hashlib', () => {
    for (const [key, sha] of VECTORS) expect(hashKey(key)).toBe(sha)
  })

  it('matches HMAC-SHA-256 vectors computed with Python hmac', () => {
    for (const [key, , mac] of VECTORS) expect(hashKey(key, PEPPER)).toBe(mac)
  })

  it('gives identical output on the native and the @noble/hashes paths (property)', () => {
    const native = nativeHasher()
    const nativePeppered = nativeHasher(PEPPER)
    const longPepper = new Uint8Array(100).fill(7) // longer than the SHA-256 block: hashed first (RFC 2104 §2)
    const nativeLong = nativeHasher(longPepper)
    expect(native).toBeDefined()
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 600 }), (key) => {
        expect(native!(key)).toBe(nobleHasher()(key))
        expect(nativePeppered!(key)).toBe(nobleHasher(PEPPER)(key))
        expect(nativeLong!(key)).toBe(nobleHasher(longPepper)(key))
      }),
      { seed: 3, numRuns: 500 },
    )
  })

  it('refuses a pepper shorter than 32 bytes with a message that names the field, not the pepper', () => {
    expect(() => hashKey('abc', 'short-secret-value')).toThrow(RangeError)
    // The whole message: the field and the length, nothing of the value.
    expect(() => hashKey('abc', 'short-secret-value')).toThrow(/^pepper: must be at least 32 bytes \(got 18\)$/)
  })

  it('refuses empty and non-string keys', () => {
    expect(() => hashKey('')).toThrow(RangeError)
    expect(() => hashKey('')).toThrow(/^key: must not be empty$/)
    expect(() => hashKey(undefined as unknown as string)).toThrow(TypeError)
    expect(() => hashKey(undefined as unknown as string)).toThrow(/^key: must be a string$/)
  })
})
