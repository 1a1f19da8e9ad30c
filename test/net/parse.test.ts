import fc from 'fast-check'
import ipaddr from 'ipaddr.js'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { formatIp, parseIp } from '../../src/net/_ip.js'
import type { IpAddress } from '../../src/net/_ip.js'
import { SEED, addressText, dotted, u32, v4Texts, v6Arb } from './_arb.js'

const words = (text: string): number[] | undefined => {
  const a = parseIp(text)
  return a?.family === 6 ? [...a.v6] : undefined
}

describe('parseIp: IPv4', () => {
  it.each([
    ['0.0.0.0', 0],
    ['255.255.255.255', 0xffffffff],
    ['203.0.113.7', 0xcb007107],
    ['10.0.0.1', 0x0a000001],
    ['1.20.100.200', 0x011464c8],
  ])('accepts the canonical dotted quad %s', (text, expected) => {
    expect(parseIp(text)).toEqual({ family: 4, v4: expected })
  })

  it.each([
    ['010.0.0.1', 'a leading zero (octal to inet_aton)'],
    ['10.00.0.1', 'a double zero octet'],
    ['0177.0.0.1', 'octal'],
    ['0x7f.0.0.1', 'hex'],
    ['0x7f000001', 'a hex integer'],
    ['127.1', 'shorthand'],
    ['127.0.1', 'three-part shorthand'],
    ['3232235777', 'a single integer'],
    ['256.0.0.1', 'an octet over 255'],
    ['1.2.3.1000', 'a four-digit octet'],
    ['1.2.3.4.5', 'five parts'],
    ['1.2.3.', 'a trailing dot'],
    ['.1.2.3', 'a leading dot'],
    ['1..2.3', 'an empty octet'],
    [' 1.2.3.4', 'leading whitespace'],
    ['1.2.3.4 ', 'trailing whitespace'],
    ['1.2.3.4\n', 'a trailing newline'],
    ['1.2.3.4:80', 'a port'],
    ['1.2.3.4/32', 'a prefix'],
    ['+1.2.3.4', 'a sign'],
    ['１.2.3.4', 'a full-width digit'],
    ['١.2.3.4', 'an Arabic-Indic digit'],
    ['', 'the empty string'],
    ['unknown', 'a word'],
  ])('rejects %j: %s', (text) => {
    expect(parseIp(text)).toBeUndefined()
  })
})

describe('parseIp: IPv6', () => {
  it.each([
    ['::', [0, 0, 0, 0]],
    ['::1', [0, 0, 0, 1]],
    ['1::', [0x10000, 0, 0, 0]],
    ['2001:db8::1', [0x20010db8, 0, 0, 1]],
    ['2001:DB8:0:0:0:0:0:1', [0x20010db8, 0, 0, 1]],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', [0x20010db8, 0, 0, 1]],
    ['fe80::1', [0xfe800000, 0, 0, 1]],
    ['1:2:3:4:5:6:7:8', [0x10002, 0x30004, 0x50006, 0x70008]],
    ['1:2:3:4:5:6:7::', [0x10002, 0x30004, 0x50006, 0x70000]],
    ['::2:3:4:5:6:7:8', [0x2, 0x30004, 0x50006, 0x70008]],
    ['1:0:2:3:4:5:6:7', [0x10000, 0x20003, 0x40005, 0x60007]],
    ['1::2:3:4:5:6:7', [0x10000, 0x20003, 0x40005, 0x60007]],
    ['64:ff9b::192.0.2.1', [0x0064ff9b, 0, 0, 0xc0000201]],
    ['1:2:3:4:5:6:1.2.3.4', [0x10002, 0x30004, 0x50006, 0x01020304]],
    ['ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255', [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]],
  ])('accepts %s', (text, expected) => {
    expect(words(text)).toEqual(expected)
  })

  it('reads ::1.2.3.4 as IPv4-compatible ::102:304, not as a mapped IPv4 address', () => {
    // ipaddr.js alone would turn this into ::ffff:1.2.3.4; RFC 4291 §2.5.5.1 says otherwise.
    expect(words('::1.2.3.4')).toEqual([0, 0, 0, 0x01020304])
  })

  it.each([
    ['fe80::1%eth0', 'a zone id'],
    ['fe80::1%1', 'a numeric zone id'],
    ['fe80::1%25', 'a percent-encoded numeric zone id'],
    ['fe80::1%25eth0', 'a URI-encoded zone id'],
    ['fe80::1%', 'an empty zone id'],
    ['[::1]', 'brackets'],
    ['[::1]:80', 'brackets and a port'],
    ['::1:80:', 'a trailing single colon'],
    [':1:2:3:4:5:6:7', 'a leading single colon'],
    ['1:2:3:4:5:6:7:', 'a trailing single colon after seven groups'],
    ['1:2:3:4:5:6:7:8:', 'a trailing colon after eight groups'],
    ['1:2:3:4:5:6:7:8:9', 'nine groups'],
    ['1:2:3:4:5:6:7', 'seven groups without ::'],
    ['1::2:3:4:5:6:7:8', ':: standing for no group'],
    ['1:2:3:4:5:6:7:8::', ':: after eight groups'],
    ['1::2::3', 'two ::'],
    [':::1', 'a triple colon'],
    ['1:::2', 'an inner triple colon'],
    ['12345::', 'a five-digit group'],
    ['::00001', 'a zero-padded five-digit group'],
    ['g::1', 'a non-hex digit'],
    ['::ffff:0177.0.0.1', 'an octal embedded IPv4'],
    ['::ffff:0x7f.0.0.1', 'a hex embedded IPv4'],
    ['::ffff:127.1', 'a shorthand embedded IPv4'],
    ['::ffff:1.2.3.04', 'a leading zero in an embedded IPv4'],
    ['::ffff:1.2.3.256', 'an embedded octet over 255'],
    ['1.2.3.4::', 'a dotted quad before the end'],
    ['::1.2.3.4:5', 'a dotted quad not at the end'],
    ['1:2:3:4:5:6:7:1.2.3.4', 'a dotted quad making nine groups'],
    ['1.2::3.4.5.6', 'a dot inside a hex group'],
    ['::1 ', 'trailing whitespace'],
    ['\t::1', 'a leading tab'],
    ['::１', 'a full-width digit'],
    ['2001:db8::/32', 'a prefix'],
    ['0000:0000:0000:0000:0000:0000:0000:0000:0', 'text over 45 characters'],
  ])('rejects %j: %s', (text) => {
    expect(parseIp(text)).toBeUndefined()
  })
})

describe('parseIp: IPv4-mapped IPv6 (RFC 4291 §2.5.5.2)', () => {
  it.each([
    '::ffff:10.1.2.3',
    '::FFFF:10.1.2.3',
    '::fFfF:10.1.2.3',
    '::ffff:a01:203',
    '::FFFF:A01:203',
    '0:0:0:0:0:ffff:10.1.2.3',
    '0:0:0:0:0:ffff:a01:203',
    '0000:0000:0000:0000:0000:ffff:0a01:0203',
    '0::ffff:10.1.2.3',
  ])('normalises %s to the IPv4 address 10.1.2.3', (text) => {
    expect(parseIp(text)).toEqual({ family: 4, v4: 0x0a010203 })
  })

  it('keeps ::fffe:a01:203 and ::ffff:0:a01:203 (not mapped) as IPv6', () => {
    expect(parseIp('::fffe:a01:203')?.family).toBe(6)
    expect(parseIp('::ffff:0:a01:203')?.family).toBe(6)
  })
})

describe('parseIp: hot path', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('parses plain IPv4 and ::ffff:a.b.c.d without calling ipaddr.js', () => {
    const spies = [vi.spyOn(ipaddr.IPv6, 'parse'), vi.spyOn(ipaddr.IPv4, 'parse'), vi.spyOn(ipaddr, 'parse'), vi.spyOn(ipaddr, 'process')]
    expect(parseIp('203.0.113.7')).toEqual({ family: 4, v4: 0xcb007107 })
    expect(parseIp('::ffff:203.0.113.7')).toEqual({ family: 4, v4: 0xcb007107 })
    for (const s of spies) expect(s).not.toHaveBeenCalled()
  })

  it('uses ipaddr.js for other IPv6 text (the spy sees the call)', () => {
    const spy = vi.spyOn(ipaddr.IPv6, 'parse')
    expect(parseIp('2001:db8::1')?.family).toBe(6)
    expect(spy).toHaveBeenCalledTimes(1)
  })

  it('never hands ipaddr.js a dotted quad, a zone or a bracket', () => {
    const spy = vi.spyOn(ipaddr.IPv6, 'parse')
    for (const t of ['::1.2.3.4', '1:2:3:4:5:6:1.2.3.4', 'fe80::1%eth0', '[::1]', '::ffff:0177.0.0.1']) parseIp(t)
    for (const [arg] of spy.mock.calls) expect(arg).toMatch(/^[0-9a-fA-F:]+$/)
  })
})

describe('formatIp', () => {
  it.each([
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // RFC 5952 §4.2.3: leftmost of equal runs
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // §4.2.3: the longest run
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2: a single 0 is not compressed
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['::1.2.3.4', '::102:304'],
    ['FE80::ABCD', 'fe80::abcd'], // §4.3: lower case
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['010.1.2.3', undefined],
  ])('formats %s as %s', (text, expected) => {
    const a = parseIp(text)
    expect(a === undefined ? undefined : formatIp(a)).toBe(expected)
  })

  it('writes a hand-built family-6 mapped value as ::ffff:a.b.c.d (RFC 5952 §5)', () => {
    expect(formatIp({ family: 6, v6: Uint32Array.of(0, 0, 0xffff, 0x0a010203) })).toBe('::ffff:10.1.2.3')
  })
})

describe('parseIp / formatIp properties', () => {
  const params = { seed: SEED, numRuns: 2000 }

  it('parseIp never throws and returns undefined or a well-formed address, for any string', () => {
    fc.assert(
      fc.property(fc.oneof(addressText, fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme', maxLength: 60 })), (s) => {
        const a = parseIp(s)
        if (a === undefined) return
        if (a.family === 4) expect(a.v4 === a.v4 >>> 0).toBe(true)
        else {
          expect(a.v6).toBeInstanceOf(Uint32Array)
          expect(a.v6.length).toBe(4)
          expect(a.v6[0] === 0 && a.v6[1] === 0 && a.v6[2] === 0xffff).toBe(false)
        }
      }),
      params,
    )
  })

  it('parseIp never throws on non-string input', () => {
    fc.assert(
      fc.property(fc.anything(), (x) => {
        expect(parseIp(x as string)).toBeUndefined()
      }),
      params,
    )
  })

  it('formatIp(parseIp(x)) is x for canonical IPv4 text', () => {
    fc.assert(
      fc.property(u32, (v) => {
        expect(parseIp(dotted(v))).toEqual({ family: 4, v4: v })
        expect(formatIp(parseIp(dotted(v))!)).toBe(dotted(v))
      }),
      params,
    )
  })

  it('every mapped form of an IPv4 address parses to that IPv4 address', () => {
    fc.assert(
      fc.property(u32, (v) => {
        for (const t of v4Texts(v)) expect(parseIp(t)).toEqual({ family: 4, v4: v })
      }),
      params,
    )
  })

  it('every IPv6 text form parses to its words, and formatIp output is a fixed point', () => {
    fc.assert(
      fc.property(v6Arb, ({ words: w, text }) => {
        const a = parseIp(text)
        expect(a).toBeDefined()
        const mapped = w[0] === 0 && w[1] === 0 && w[2] === 0xffff
        expect(a).toEqual(mapped ? { family: 4, v4: w[3] } : { family: 6, v6: Uint32Array.from(w) })
        const canon = formatIp(a as IpAddress)
        expect(formatIp(parseIp(canon)!)).toBe(canon)
        expect(canon).toBe(canon.toLowerCase())
      }),
      params,
    )
  })
})
