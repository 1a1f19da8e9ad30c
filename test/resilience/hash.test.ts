import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { nobleHasher } from '../../src/keys/_noble.js'
import { base64url, createHasher, hashKey, nativeHasher, sha256 } from '../../src/keys/hash.js'
import { generateKey } from '../../src/keys/format.js'

const SEED = Number(process.env.KEYWARD_FC_SEED ?? 0x6b657977)
const native = nativeHasher
const b64url = (hex: string) => Buffer.from(hex, 'hex').toString('base64url')

const keys = fc.oneof(
  fc.constant(null).map(() => generateKey()),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 600 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }), // every code point, lone surrogates too
  fc.uuid(),
)
const peppers = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', minLength: 32, maxLength: 200 }),
  fc.string({ unit: 'binary', minLength: 32, maxLength: 80 }),
  fc.uint8Array({ minLength: 32, maxLength: 64 }),
  fc.uint8Array({ minLength: 65, maxLength: 300 }), // longer than the SHA-256 block: hashed first (RFC 2104)
)

describe('native and @noble/hashes hashers', () => {
  it('the native one-shot hash is available on this runtime (Node ≥ 20.12)', () => {
    expect(typeof native()).toBe('function')
  })

  it('give identical SHA-256 for random keys', () => {
    const n = native()!
    const p = nobleHasher()
    fc.assert(
      fc.property(keys, (key) => {
        expect(n(key)).toBe(p(key))
      }),
      { seed: SEED, numRuns: 2_000 },
    )
  })

  it('give identical HMAC-SHA-256 for random keys and peppers', () => {
    fc.assert(
      fc.property(keys, peppers, (key, pepper) => {
        expect(native(pepper)!(key)).toBe(nobleHasher(pepper)(key))
      }),
      { seed: SEED, numRuns: 1_000 },
    )
  })

  it('match published vectors (FIPS 180-2 "abc", RFC 4231 test case 6)', () => {
    const abc = b64url('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(native()!('abc')).toBe(abc)
    expect(nobleHasher()('abc')).toBe(abc)
    const key = new Uint8Array(131).fill(0xaa)
    const msg = 'Test Using Larger Than Block-Size Key - Hash Key First'
    const mac = b64url('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54')
    expect(native(key)!(msg)).toBe(mac)
    expect(nobleHasher(key)(msg)).toBe(mac)
  })

  it('hashKey and the authorizer hasher agree with noble for the same pepper', () => {
    const pepper = 'p'.repeat(40)
    fc.assert(
      fc.property(keys, (key) => {
        const expected = nobleHasher(pepper)(key)
        expect(hashKey(key, pepper)).toBe(expected)
        expect(createHasher(pepper)(key)).toBe(expected)
      }),
      { seed: SEED, numRuns: 300 },
    )
  })

  it('a different pepper gives a different hash', () => {
    const key = generateKey()
    expect(native('a'.repeat(32))!(key)).not.toBe(native('b'.repeat(32))!(key))
    expect(native('a'.repeat(32))!(key)).not.toBe(native()!(key))
  })

  it('refuses short peppers and non-string keys with clear errors, without echoing them', () => {
    expect(() => nativeHasher('short')).toThrow(/^pepper: must be at least 32 bytes/)
    expect(() => nobleHasher('short')).toThrow(/^pepper: must be at least 32 bytes/)
    expect(() => createHasher()(undefined as unknown as string)).toThrow(TypeError)
    expect(() => createHasher()(undefined as unknown as string)).toThrow(/^key: must be a string$/)
    expect(() => hashKey('')).toThrow(RangeError)
  })

  // Each path that refuses a pepper must throw, and what it throws must not carry the pepper.
  it.each([
    ['nativeHasher', (p: string) => nativeHasher(p)],
    ['nobleHasher', (p: string) => nobleHasher(p)],
    ['createHasher', (p: string) => createHasher(p)],
    ['hashKey', (p: string) => hashKey('kw_test_key', p)],
  ])('%s refuses a short pepper without echoing it', (_, build) => {
    const pepper = 'secret-pepper'
    expect(() => build(pepper)).toThrow(RangeError)
    // The whole message: the field and the length, nothing of the value.
    expect(() => build(pepper)).toThrow(/^pepper: must be at least 32 bytes \(got 13\)$/)
  })

  it.each([
    ['a number', 42],
    ['null', null],
    ['a Uint16Array', new Uint16Array(32)],
  ])('refuses a pepper that is %s with a TypeError naming the field, on every path', (_, pepper) => {
    for (const build of [() => hashKey('kw_test_key', pepper as never), () => createHasher(pepper as never), () => nativeHasher(pepper as never), () => nobleHasher(pepper as never)]) {
      expect(build).toThrow(TypeError)
      expect(build).toThrow(/^pepper: must be a string or a Uint8Array$/)
    }
  })

  it('refuses a key that is not a string, or empty, with an error naming the field', () => {
    for (const hash of [createHasher(), createHasher('p'.repeat(32)), (k: string) => hashKey(k), (k: string) => hashKey(k, 'p'.repeat(32))]) {
      expect(() => hash(5 as unknown as string)).toThrow(/^key: must be a string$/)
      expect(() => hash('')).toThrow(/^key: must not be empty$/)
    }
  })

  /** The hash module loaded anew, with `process.getBuiltinModule` replaced by `stub` while it loads. */
  async function freshHashModule(stub?: () => unknown): Promise<typeof import('../../src/keys/hash.js')> {
    vi.resetModules()
    const spy = stub === undefined ? undefined : vi.spyOn(process, 'getBuiltinModule').mockImplementation(stub as never)
    try {
      return await import('../../src/keys/hash.js')
    } finally {
      spy?.mockRestore()
      vi.resetModules()
    }
  }

  it.each([
    ['no node:crypto', () => undefined],
    ['a node:crypto without a hash function', () => ({ hash: 'sha256' })],
    ['a getBuiltinModule that throws', () => {
      throw new Error('no builtin modules here')
    }],
  ])('has no native hasher on a runtime with %s (a browser, an edge runtime)', async (_, stub) => {
    const fresh = await freshHashModule(stub)
    expect(fresh.nativeHasher()).toBeUndefined()
    expect(fresh.nativeHasher('p'.repeat(32))).toBeUndefined()
  })

  it('loads the native hasher from node:crypto when the module loads on Node', async () => {
    const fresh = await freshHashModule()
    expect(fresh.nativeHasher()!('abc')).toBe(b64url('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'))
    expect(fresh.base64url(new Uint8Array([0xfb, 0xff]))).toBe('-_8')
  })
})

describe('SHA-256 and base64url helpers', () => {
  it('sha256 matches node:crypto for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(Buffer.from(sha256(bytes)).toString('hex')).toBe(createHash('sha256').update(bytes).digest('hex'))
      }),
      { seed: SEED, numRuns: 200 },
    )
  })

  it('base64url is unpadded RFC 4648 §5 for every length (property)', () => {
    expect([base64url(new Uint8Array([0xff])), base64url(new Uint8Array([0xff, 0xfe])), base64url(new Uint8Array([0xfb, 0xff, 0xbf]))]).toEqual(['_w', '__4', '-_-_'])
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        expect(base64url(bytes)).toBe(Buffer.from(bytes).toString('base64url'))
      }),
      { seed: SEED, numRuns: 300 },
    )
  })
})
