import fc from 'fast-check'
import ipaddr from 'ipaddr.js'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { allowlistHas, compileAllowlist, type Allowlist } from '../../src/net/_allowlist.js'
import { parseIp, type IpAddress } from '../../src/net/_ip.js'
import { SEED, addressText, mutate, u32, v6Arb } from './_arb.js'

const compile = (entries: readonly unknown[]): Allowlist => compileAllowlist(entries, 'allowedIps')
const has = (list: Allowlist, text: string): boolean => {
  const a = parseIp(text)
  if (a === undefined) throw new Error(`test bug: ${text} does not parse`)
  return allowlistHas(list, a)
}

describe('compileAllowlist: canonical entries', () => {
  it.each([
    [['10.0.0.0/8'], ['10.0.0.0/8']],
    [['1.2.3.4'], ['1.2.3.4']],
    [['1.2.3.4/32'], ['1.2.3.4']],
    [['0.0.0.0/0'], ['0.0.0.0/0']],
    [['2001:DB8::/32'], ['2001:db8::/32']],
    [['2001:0db8:0000:0000:0000:0000:0000:0001/128'], ['2001:db8::1']],
    [['::/0'], ['::/0']],
    [['::1'], ['::1']],
    [['::ffff:10.0.0.0/104'], ['10.0.0.0/8']],
    [['::FFFF:a00:0/104'], ['10.0.0.0/8']],
    [['::ffff:1.2.3.4'], ['1.2.3.4']],
    [['::ffff:1.2.3.4/128'], ['1.2.3.4']],
    [['::ffff:0:0/96'], ['0.0.0.0/0']],
    [['::1.2.3.4'], ['::102:304']],
    [['10.0.0.0/8', '::ffff:10.0.0.0/104', '10.0.0.0/8', '1.2.3.4/32', '1.2.3.4'], ['10.0.0.0/8', '1.2.3.4']],
    [['2001:db8::/32', '192.0.2.0/24', '2001:DB8:0::/32'], ['2001:db8::/32', '192.0.2.0/24']],
    [[], []],
  ])('canonicalises %j to %j', (input, expected) => {
    expect(compile(input).entries).toEqual(expected)
  })

  it('returns frozen entries', () => {
    expect(Object.isFrozen(compile(['10.0.0.0/8']).entries)).toBe(true)
  })
})

describe('compileAllowlist: errors name the field, the index and the entry', () => {
  const bad = (entry: string): string => `allowedIps[1]: ${JSON.stringify(entry)} is not a canonical IPv4 or IPv6 address or CIDR`
  it.each([
    ['127.1', bad('127.1')],
    ['010.0.0.1', bad('010.0.0.1')],
    ['0x7f.0.0.1/8', bad('0x7f.0.0.1/8')],
    ['3232235777', bad('3232235777')],
    ['', bad('')],
    [' 10.0.0.0/8', bad(' 10.0.0.0/8')],
    ['10.0.0.0/8 ', bad('10.0.0.0/8 ')],
    ['10.0.0.0 /8', bad('10.0.0.0 /8')],
    ['10.0.0.0/08', bad('10.0.0.0/08')],
    ['10.0.0.0/+8', bad('10.0.0.0/+8')],
    ['10.0.0.0/', bad('10.0.0.0/')],
    ['10.0.0.0/8/8', bad('10.0.0.0/8/8')],
    ['10.0.0.0/1000', bad('10.0.0.0/1000')],
    ['/8', bad('/8')],
    ['fe80::/10%eth0', bad('fe80::/10%eth0')],
    ['fe80::1%eth0', bad('fe80::1%eth0')],
    ['[::1]', bad('[::1]')],
    ['1.2.3.4:80', bad('1.2.3.4:80')],
    ['::ffff:0177.0.0.1', bad('::ffff:0177.0.0.1')],
    ['10.0.0.0/255.0.0.0', bad('10.0.0.0/255.0.0.0')],
    ['10.0.0.1/8', 'allowedIps[1]: "10.0.0.1/8" has host bits set (the network is "10.0.0.0/8")'],
    ['2001:db8::1/32', 'allowedIps[1]: "2001:db8::1/32" has host bits set (the network is "2001:db8::/32")'],
    ['::ffff:10.0.0.1/104', 'allowedIps[1]: "::ffff:10.0.0.1/104" has host bits set (the network is "10.0.0.0/8")'],
    ['10.0.0.0/33', 'allowedIps[1]: "10.0.0.0/33" has a prefix longer than 32 bits'],
    ['::/129', 'allowedIps[1]: "::/129" has a prefix longer than 128 bits'],
    ['::ffff:0.0.0.0/129', 'allowedIps[1]: "::ffff:0.0.0.0/129" has a prefix longer than 128 bits'],
    ['::ffff:0:0/95', 'allowedIps[1]: "::ffff:0:0/95" is an IPv4-mapped range with a prefix below 96'],
    ['::ffff:0.0.0.0/64', 'allowedIps[1]: "::ffff:0.0.0.0/64" is an IPv4-mapped range with a prefix below 96'],
  ])('refuses %j with a RangeError', (entry, message) => {
    const err = catchError(() => compile(['10.0.0.0/8', entry]))
    expect(err).toBeInstanceOf(RangeError)
    expect(err.message).toBe(message)
  })

  it('escapes control characters and truncates a long entry in the message', () => {
    const err = catchError(() => compile(['1.2.3.4\n\u001b[31m']))
    expect(err).toBeInstanceOf(RangeError)
    expect(err.message).toBe('allowedIps[0]: "1.2.3.4\\n\\u001b[31m" is not a canonical IPv4 or IPv6 address or CIDR')
    const long = 'a'.repeat(500)
    const msg = catchError(() => compile([long])).message
    expect(msg.startsWith('allowedIps[0]: "aaaa')).toBe(true)
    expect(msg.length).toBeLessThan(140)
  })

  it.each([
    ['a number', 42],
    ['null', null],
    ['undefined (a hole)', undefined],
    ['an object', { toString: () => '10.0.0.0/8' }],
  ])('refuses an entry that is %s with a TypeError naming the index', (_what, entry) => {
    const err = catchError(() => compile(['10.0.0.0/8', '::1', entry]))
    expect(err).toBeInstanceOf(TypeError)
    expect(err.message).toMatch(/^allowedIps\[2\]: must be a string/)
  })

  it.each([['a string', '10.0.0.0/8'], ['null', null], ['an object', {}], ['a Set', new Set(['10.0.0.0/8'])]])(
    'refuses a list that is %s with a TypeError naming the field',
    (_what, value) => {
      const err = catchError(() => compileAllowlist(value as unknown as string[], 'trustProxy'))
      expect(err).toBeInstanceOf(TypeError)
      expect(err.message).toMatch(/^trustProxy: /)
    },
  )
})

describe('allowlistHas', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it.each([
    ['10.0.0.0/8', '10.0.0.0', true],
    ['10.0.0.0/8', '10.255.255.255', true],
    ['10.0.0.0/8', '9.255.255.255', false],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['10.0.0.0/8', '::ffff:10.1.2.3', true],
    ['10.0.0.0/8', '::ffff:b00:0', false],
    ['192.0.2.0/31', '192.0.2.1', true],
    ['192.0.2.0/31', '192.0.2.2', false],
    ['1.2.3.4', '1.2.3.4', true],
    ['1.2.3.4', '1.2.3.5', false],
    ['128.0.0.0/1', '255.255.255.255', true],
    ['128.0.0.0/1', '127.255.255.255', false],
    ['0.0.0.0/0', '0.0.0.0', true],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['0.0.0.0/0', '::ffff:1.2.3.4', true],
    ['0.0.0.0/0', '::1', false],
    ['0.0.0.0/0', '::102:304', false],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['10.0.0.0/8', '::a00:1', false],
    ['2001:db8::/32', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['2001:db8::/32', '2001:db9::', false],
    ['2001:db8::/32', '2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', false],
    ['2001:db8::/127', '2001:db8::1', true],
    ['2001:db8::/127', '2001:db8::2', false],
    ['2001:db8::1', '2001:db8::1', true],
    ['2001:db8::1', '2001:db8::', false],
    ['::/0', '::', true],
    ['::/0', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['2001:db8::/32', '10.0.0.1', false],
    ['::ffff:10.0.0.0/104', '10.1.2.3', true],
  ])('%s admits %s: %s', (entry, addr, expected) => {
    expect(has(compile([entry]), addr)).toBe(expected)
  })

  describe('IPv6 ranges over ::ffff:0:0/96 also cover IPv4 (mapped addresses live there)', () => {
    it.each([
      ['::/0', true],
      ['::/1', true],
      ['::/64', true],
      ['::/80', true],
      ['::ffff:0:0/96', true],
      ['::/81', false],
      ['::/96', false],
      ['::fffe:0:0/95', true], // ::fffe:0:0 – ::ffff:ffff:ffff
      ['::fffe:0:0/96', false],
      ['8000::/1', false],
      ['2001:db8::/32', false],
    ])('%s admits 203.0.113.7: %s', (entry, expected) => {
      const list = compile([entry])
      expect(has(list, '203.0.113.7')).toBe(expected)
      expect(has(list, '::ffff:203.0.113.7')).toBe(expected)
      expect(has(list, '0.0.0.0')).toBe(expected)
      expect(has(list, '255.255.255.255')).toBe(expected)
    })
  })

  it('an empty list admits nothing', () => {
    const list = compile([])
    expect(has(list, '1.2.3.4')).toBe(false)
    expect(has(list, '::1')).toBe(false)
  })

  it('an unresolved address (undefined) is never admitted, not even by 0.0.0.0/0 and ::/0', () => {
    expect(allowlistHas(compile(['0.0.0.0/0', '::/0']), undefined)).toBe(false)
  })

  it('a native IPv6 address against an IPv4-only list is false, not an exception', () => {
    expect(() => has(compile(['10.0.0.0/8', '0.0.0.0/0']), 'fe80::1')).not.toThrow()
    expect(has(compile(['10.0.0.0/8', '0.0.0.0/0']), 'fe80::1')).toBe(false)
  })

  it('matches among several ranges of both families', () => {
    const list = compile(['192.0.2.0/24', '2001:db8::/48', '198.51.100.7', 'fe80::/10'])
    expect(has(list, '198.51.100.7')).toBe(true)
    expect(has(list, '198.51.100.8')).toBe(false)
    expect(has(list, 'fe80::abcd')).toBe(true)
    expect(has(list, '2001:db8:0:1::')).toBe(true)
    expect(has(list, '2001:db8:1::')).toBe(false)
  })

  it('fails closed on a list not made by compileAllowlist', () => {
    expect(allowlistHas({ entries: ['0.0.0.0/0'] }, parseIp('1.2.3.4'))).toBe(false)
  })

  it('fails closed on hand-built malformed addresses (NaN, fractions, negatives, short words)', () => {
    const list = compile(['0.0.0.0/8', '::/0'])
    for (const bad of [NaN, 0.5, -1, 2 ** 32, Infinity]) {
      expect(allowlistHas(list, { family: 4, v4: bad })).toBe(false)
    }
    expect(allowlistHas(list, { family: 6, v6: new Uint32Array(2) })).toBe(false)
    expect(allowlistHas(list, { family: 6, v6: [0, 0, 0, 0] as unknown as Uint32Array })).toBe(false)
    expect(allowlistHas(list, { family: 5 } as unknown as IpAddress)).toBe(false)
  })

  it('does no string work and calls no ipaddr.js function', () => {
    const list = compile(['10.0.0.0/8', '2001:db8::/32'])
    const a4 = parseIp('10.1.2.3')
    const a6 = parseIp('2001:db8::1')
    const spies = [vi.spyOn(ipaddr.IPv6, 'parse'), vi.spyOn(ipaddr, 'parse'), vi.spyOn(ipaddr, 'parseCIDR'), vi.spyOn(ipaddr, 'process')]
    expect(allowlistHas(list, a4)).toBe(true)
    expect(allowlistHas(list, a6)).toBe(true)
    for (const s of spies) expect(s).not.toHaveBeenCalled()
  })
})

describe('compileAllowlist / allowlistHas properties', () => {
  const params = { seed: SEED, numRuns: 1500 }
  const entryText = fc.oneof(
    fc.tuple(u32, fc.integer({ min: 0, max: 40 })).map(([v, p]) => `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/${p}`),
    fc.tuple(v6Arb, fc.integer({ min: 0, max: 140 })).map(([a, p]) => `${a.text}/${p}`),
    addressText,
    mutate(addressText),
    fc.string({ unit: 'binary', maxLength: 60 }),
  )

  it('never throws anything but TypeError or RangeError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(fc.oneof(entryText, fc.anything()), { maxLength: 6 }), fc.anything()), (entries) => {
        try {
          compileAllowlist(entries as unknown[], 'allowedIps')
        } catch (e) {
          expect(e instanceof TypeError || e instanceof RangeError).toBe(true)
          expect((e as Error).message.startsWith('allowedIps')).toBe(true)
        }
      }),
      params,
    )
  })

  it('compiling the canonical entries again gives the same entries (idempotent)', () => {
    fc.assert(
      fc.property(fc.array(entryText, { maxLength: 6 }), (entries) => {
        let list: Allowlist
        try {
          list = compile(entries)
        } catch {
          return
        }
        expect(compile(list.entries).entries).toEqual(list.entries)
        expect(new Set(list.entries).size).toBe(list.entries.length)
      }),
      params,
    )
  })

  it('every accepted single address is admitted by its own list', () => {
    fc.assert(
      fc.property(addressText, (text) => {
        const a = parseIp(text)
        if (a === undefined) return
        expect(allowlistHas(compile([text]), a)).toBe(true)
      }),
      params,
    )
  })
})

function catchError(fn: () => unknown): Error {
  try {
    fn()
  } catch (e) {
    return e as Error
  }
  throw new Error('expected an exception')
}
