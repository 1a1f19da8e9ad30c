/**
 * The credential grammar against independent oracles: RFC 9110 §11.2 token68 as a regular
 * expression, and Node's base64 codec for strict base64 (RFC 4648 §4): a string is accepted
 * exactly when it is the canonical encoding of its bytes, with or without its padding.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { trimOws } from '../../src/lib/headers.js'
import { compactShape, credentialsStart, decodeBase64, decodeUserPass, isToken68, keyValue, splitAuthorization } from '../../src/schemes/_grammar.js'

const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/
const SEED = 0x6b77

describe('token68', () => {
  it('accepts exactly the RFC 9110 character classes, for every ASCII byte in every position', () => {
    for (let c = 0; c < 128; c++) {
      const ch = String.fromCharCode(c)
      for (const s of [ch, `a${ch}`, `${ch}a`, `a${ch}b`, `a${ch}=`, `a=${ch}`]) {
        expect([s, isToken68(s)]).toEqual([s, TOKEN68.test(s)])
      }
    }
  })

  it('agrees with the regular expression on random strings (property)', () => {
    const text = fc.string({ unit: fc.constantFrom(...'aZ09-._~+/=!:,; é'), maxLength: 12 })
    fc.assert(
      fc.property(text, (s) => {
        expect(isToken68(s)).toBe(TOKEN68.test(s))
      }),
      { seed: SEED, numRuns: 2000 },
    )
  })
})

describe('compact JWS shape', () => {
  /** RFC 7515 §7.1: three base64url segments; header and payload non-empty, the signature may be empty. */
  const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

  it.each([
    ['a.b.c', true],
    ['aZ09-_.aZ09-_.aZ09-_', true],
    ['a.b.', true],
    ['.b.c', false],
    ['a..c', false],
    ['a.b', false],
    ['a.b.c.d', false],
    ['', false],
    ['a+b.c.d', false],
    ['a.b/c.d', false],
    ['a.b.c=', false],
    ['a.b.c ', false],
  ])('compactShape(%j) is %j', (s, want) => {
    expect(compactShape(s)).toBe(want)
  })

  it('accepts every ASCII byte exactly where base64url allows it, in each segment', () => {
    for (let c = 0; c < 128; c++) {
      const ch = String.fromCharCode(c)
      for (const s of [`${ch}.b.c`, `a.${ch}.c`, `a.b.${ch}`, `a${ch}.b.c`]) expect([s, compactShape(s)]).toEqual([s, COMPACT.test(s)])
    }
  })

  it('agrees with the regular expression on random strings (property)', () => {
    const text = fc.string({ unit: fc.constantFrom(...'aZ09-_..=+/ é'), maxLength: 10 })
    fc.assert(
      fc.property(text, (s) => {
        expect(compactShape(s)).toBe(COMPACT.test(s))
      }),
      { seed: SEED, numRuns: 3000 },
    )
  })
})

describe('strict base64', () => {
  const canonical = (s: string): boolean => {
    const bytes = Buffer.from(s, 'base64')
    const enc = bytes.toString('base64')
    return s === enc || s === enc.replace(/=+$/, '')
  }

  it('decodes every canonical encoding, padded or not, to its bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.boolean(), (bytes, pad) => {
        const enc = Buffer.from(bytes).toString('base64')
        expect(decodeBase64(pad ? enc : enc.replace(/=+$/, ''))).toBe(Buffer.from(bytes).toString('latin1'))
      }),
      { seed: SEED, numRuns: 1000 },
    )
  })

  it('accepts a string over the base64 alphabet exactly when it is canonical (property)', () => {
    const text = fc.string({ unit: fc.constantFrom(...'AQgwBCDh/+9z='), maxLength: 10 })
    fc.assert(
      fc.property(text, (s) => {
        const ok = /^[A-Za-z0-9+/]*=*$/.test(s) && canonical(s)
        expect([s, decodeBase64(s) !== undefined]).toEqual([s, ok])
      }),
      { seed: SEED, numRuns: 3000 },
    )
  })

  it.each(['YWJj====', 'YWI===', 'YQ===', 'YQ====', 'YWJjZA===', '====', '=', 'YWJj=', 'YWJjZA=', 'YWI==', 'YWK=', 'YR==', 'YWJjZ'])(
    'refuses %j, as Node would not write it',
    (s) => {
      expect(canonical(s)).toBe(false)
      expect(decodeBase64(s)).toBeUndefined()
    },
  )

  it.each(['YWJ\u0080', 'YWJ\u00ff', 'YW\u0100j', 'Y\uffffJj', '\u0141WJj'])('refuses %j: a character past ASCII is no base64 digit', (s) => {
    expect(decodeBase64(s)).toBeUndefined()
  })

  it('stops at maxBytes: a decoded length over the bound is refused', () => {
    expect(decodeBase64('YWJj', 3)).toBe('abc')
    expect(decodeBase64('YWJjZA', 3)).toBeUndefined()
    expect(decodeBase64('YWJjZA==', 4)).toBe('abcd')
  })
})

describe('Basic user-pass', () => {
  const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64')

  it.each([
    ['a:b', { user: 'a', pass: 'b' }],
    [':', { user: '', pass: '' }],
    ['a:b:c', { user: 'a', pass: 'b:c' }],
    ['\u00e9:\u00ff', { user: '\u00e9', pass: '\u00ff' }],
  ])('splits %j at the first colon', (text, want) => {
    expect(decodeUserPass(b64(text))).toEqual(want)
  })

  it.each([
    ['no colon', b64('ab')],
    ['a NUL in the user-id', b64('a\u0000:b')],
    ['a unit separator in the user-id', b64('a\u001f:b')],
    ['a DEL in the user-id', b64('a\u007f:b')],
    ['a control in the password', b64('a:\u0001')],
    ['not token68', `${b64('a:b')} x`],
  ])('refuses %s', (_, token) => {
    expect(decodeUserPass(token)).toBeUndefined()
  })

  it('accepts the byte right after each control range (space and 0x80) as text', () => {
    expect(decodeUserPass(b64(' :\u0080'))).toEqual({ user: ' ', pass: '\u0080' })
  })
})

describe('key values and the Authorization split', () => {
  it.each([
    ['kw_abc', 'kw_abc'],
    [' \tkw_abc\t ', 'kw_abc'],
    ['', undefined],
    [' ', undefined],
    ['kw abc', undefined],
    ['\u00a0kw_abc', undefined],
    ['kw_abc\u0000', undefined],
    ['k'.repeat(512), 'k'.repeat(512)],
    ['k'.repeat(513), undefined],
    [` ${'k'.repeat(512)} `, 'k'.repeat(512)],
    [` ${'k'.repeat(513)} `, undefined],
  ])('keyValue(%j) is %j', (raw, want) => {
    expect(keyValue(raw)).toBe(want)
  })

  it.each([
    ['Basic abc', { scheme: 'basic', rest: 'abc' }],
    ['  BEARER \t tok  ', { scheme: 'bearer', rest: 'tok' }],
    ['Basic\tabc', { scheme: 'basic', rest: 'abc' }],
    ['Basic', { scheme: 'basic', rest: '' }],
    ['Basic\u00a0abc', { scheme: 'basic\u00a0abc', rest: '' }],
  ])('splitAuthorization(%j)', (raw, want) => {
    expect(splitAuthorization(raw)).toEqual(want)
  })

  /** What the schemes read in place, as splitAuthorization reads it: the scheme's rest, or undefined. */
  const inPlace = (raw: string, word: string): string | undefined => {
    const start = credentialsStart(raw, word)
    return start < 0 ? undefined : trimOws(raw.slice(start))
  }
  const bySplit = (raw: string, word: string): string | undefined => {
    const p = splitAuthorization(raw)
    return p.scheme === word ? p.rest : undefined
  }

  it.each([
    ['Bearer abc', 'bearer', 'abc'],
    ['  bEaReR \t tok  ', 'bearer', 'tok'],
    ['Bearer', 'bearer', ''],
    ['Bearer\tabc', 'bearer', 'abc'],
    ['Bearerabc', 'bearer', undefined],
    ['Bearer\u00a0abc', 'bearer', undefined],
    ['Beare', 'bearer', undefined],
    ['Basic abc', 'bearer', undefined],
    ['BASİC x', 'basic', undefined],
    ['', 'basic', undefined],
  ])('credentialsStart(%j, %j) reads the rest %j in place', (raw, word, want) => {
    expect(inPlace(raw, word)).toBe(want)
    expect(bySplit(raw, word)).toBe(want)
  })

  it('matches ASCII letters only: a Kelvin sign is not a k, though it lower-cases to one', () => {
    expect(credentialsStart('\u212Aey x', 'key')).toBe(-1)
    expect(credentialsStart('KEY x', 'key')).toBe(4)
  })

  it('reads every Authorization value as splitAuthorization does, for bearer and basic (property)', () => {
    const chars = fc.constantFrom(' ', '\t', 'b', 'B', 'e', 'E', 'a', 'A', 'r', 'R', 's', 'S', 'i', 'I', 'c', 'C', 'x', '=', '\u00a0', '\u212a', '\u0130', '\u0000')
    const value = fc.oneof(
      fc.string({ unit: chars, maxLength: 16 }),
      fc.tuple(fc.string({ unit: chars, maxLength: 3 }), fc.constantFrom('bearer', 'Bearer', 'BASIC', 'basic', 'bAsIc'), fc.string({ unit: chars, maxLength: 8 })).map(([a, w, b]) => a + w + b),
      fc.string(),
    )
    fc.assert(
      fc.property(value, fc.constantFrom('bearer', 'basic'), (raw, word) => {
        expect(inPlace(raw, word)).toBe(bySplit(raw, word))
      }),
      { seed: SEED, numRuns: 5000 },
    )
  })
})
