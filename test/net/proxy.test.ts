import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { formatIp, parseIp } from '../../src/net/_ip.js'
import { createNetPolicy } from '../../src/net/proxy.js'
import { SEED, addressText } from './_arb.js'

const LB = '10.0.0.2' // load balancer, in 10.0.0.0/8
const CDN = '198.51.100.10' // CDN edge, in 198.51.100.0/24
const CLIENT = '203.0.113.7'
const ATTACKER_CLAIM = '192.0.2.99'

const client = (text: string | undefined) => ({ addr: text === undefined ? undefined : parseIp(text), text })
const UNRESOLVED = { addr: undefined, text: undefined }

describe('createNetPolicy: configuration', () => {
  it('trusts nobody when trustProxy is undefined or empty', () => {
    expect(createNetPolicy(undefined).trusting).toBe(false)
    expect(createNetPolicy([]).trusting).toBe(false)
    expect(createNetPolicy(['10.0.0.0/8']).trusting).toBe(true)
  })

  it.each([
    [['10.0.0.1/8'], RangeError, 'trustProxy[0]: "10.0.0.1/8" has host bits set (the network is "10.0.0.0/8")'],
    [['10.0.0.0/8', '127.1'], RangeError, 'trustProxy[1]: "127.1" is not a canonical IPv4 or IPv6 address or CIDR'],
    [['fe80::/10', 'fe80::1%eth0'], RangeError, 'trustProxy[1]: "fe80::1%eth0" is not a canonical IPv4 or IPv6 address or CIDR'],
    [['10.0.0.0/33'], RangeError, 'trustProxy[0]: "10.0.0.0/33" has a prefix longer than 32 bits'],
    [[''], RangeError, 'trustProxy[0]: "" is not a canonical IPv4 or IPv6 address or CIDR'],
    [[10], TypeError, 'trustProxy[0]: must be a string, got number'],
  ])('refuses %j, naming the field and entry', (value, type, message) => {
    expect(() => createNetPolicy(value)).toThrow(type)
    expect(() => createNetPolicy(value)).toThrow(message)
  })

  it('refuses a trustProxy that is not an array, and uses the given field name', () => {
    expect(() => createNetPolicy('10.0.0.0/8' as unknown as string[])).toThrow(TypeError)
    expect(() => createNetPolicy(null as unknown as string[])).toThrow(/^trustProxy: /)
    expect(() => createNetPolicy(['x'], 'options.trustProxy')).toThrow(/^options\.trustProxy\[0\]: "x"/)
  })
})

describe('clientAddress without a trusted proxy', () => {
  const net = createNetPolicy(undefined)

  it('ignores a spoofed X-Forwarded-For entirely', () => {
    expect(net.clientAddress(CLIENT, [ATTACKER_CLAIM])).toEqual(client(CLIENT))
    expect(net.clientAddress(CLIENT, ['garbage, unknown'])).toEqual(client(CLIENT))
  })

  it('normalises a mapped socket address (::ffff:a.b.c.d) to IPv4', () => {
    expect(net.clientAddress(`::ffff:${CLIENT}`, undefined)).toEqual(client(CLIENT))
  })

  it('strips a zone id from a link-local socket address, and formats IPv6 per RFC 5952', () => {
    expect(net.clientAddress('fe80::0001%eth0', undefined)).toEqual(client('fe80::1'))
    expect(net.clientAddress('FE80::1%2', undefined)).toEqual(client('fe80::1'))
  })

  it('leaves the client unresolved for a missing or malformed socket address', () => {
    for (const bad of [undefined, '', 'fe80::1%', '1.2.3.4%eth0', '127.1', 'localhost']) {
      expect(net.clientAddress(bad, undefined)).toEqual(UNRESOLVED)
    }
  })

  it('ignores X-Forwarded-Proto: only the socket decides TLS', () => {
    expect(net.isSecure(false, LB, ['https'])).toBe(false)
    expect(net.isSecure(undefined, LB, ['https'])).toBe(false)
    expect(net.isSecure(true, CLIENT, undefined)).toBe(true)
  })
})

describe('clientAddress behind one load balancer', () => {
  const net = createNetPolicy(['10.0.0.0/8'])

  it('takes the entry the load balancer appended', () => {
    expect(net.clientAddress(LB, [CLIENT])).toEqual(client(CLIENT))
  })

  it('ignores entries an attacker prepended on the left, even garbage', () => {
    expect(net.clientAddress(LB, [`${ATTACKER_CLAIM}, ${CLIENT}`])).toEqual(client(CLIENT))
    expect(net.clientAddress(LB, [`unknown, not-an-ip, , 1.2.3.4:80, ${CLIENT}`])).toEqual(client(CLIENT))
    expect(net.clientAddress(LB, [`10.9.9.9, ${CLIENT}`])).toEqual(client(CLIENT))
  })

  it('uses the socket address when the peer is not a trusted proxy, whatever X-Forwarded-For says', () => {
    expect(net.clientAddress(CLIENT, [ATTACKER_CLAIM])).toEqual(client(CLIENT))
    expect(net.clientAddress(CLIENT, ['unknown'])).toEqual(client(CLIENT))
  })

  it('uses the socket address when a trusted peer sends no X-Forwarded-For', () => {
    expect(net.clientAddress(LB, undefined)).toEqual(client(LB))
    expect(net.clientAddress(LB, [])).toEqual(client(LB))
  })

  it('recognises the trusted proxy through a mapped socket address', () => {
    expect(net.clientAddress(`::ffff:${LB}`, [CLIENT])).toEqual(client(CLIENT))
    expect(net.clientAddress(`::FFFF:a00:2`, [CLIENT])).toEqual(client(CLIENT))
  })

  it('reads a mapped or IPv6 client entry, canonically', () => {
    expect(net.clientAddress(LB, [`::ffff:${CLIENT}`])).toEqual(client(CLIENT))
    expect(net.clientAddress(LB, ['2001:DB8::0001'])).toEqual(client('2001:db8::1'))
  })

  it('trims SP and HTAB around entries, nothing else', () => {
    expect(net.clientAddress(LB, [`\t ${CLIENT} \t`])).toEqual(client(CLIENT))
    expect(net.clientAddress(LB, [`\u00a0${CLIENT}`])).toEqual(UNRESOLVED)
    expect(net.clientAddress(LB, [`${CLIENT}\n`])).toEqual(UNRESOLVED)
  })

  it.each([
    ['unknown', 'unknown'],
    ['empty', ''],
    ['blank', ' \t '],
    ['an empty element after a trailing comma', `${CLIENT},`],
    ['an empty element between commas', `${ATTACKER_CLAIM},,`],
    ['an IPv4 with a port', '1.2.3.4:80'],
    ['a bracketed IPv6 with a port', '[::1]:80'],
    ['a bracketed IPv6', '[2001:db8::1]'],
    ['a zone id', 'fe80::1%eth0'],
    ['a numeric zone id', 'fe80::1%1'],
    ['shorthand IPv4', '127.1'],
    ['octal IPv4', '0177.0.0.1'],
    ['an obfuscated name', 'localhost'],
    ['an RFC 7239 obfuscated identifier', '_hidden'],
  ])('denies (unresolved) rather than falling through when the deciding entry is %s', (_what, value) => {
    expect(net.clientAddress(LB, [`${ATTACKER_CLAIM}, ${value}`])).toEqual(UNRESOLVED)
    expect(net.clientAddress(LB, [ATTACKER_CLAIM, value])).toEqual(UNRESOLVED)
  })

  it('gives the leftmost entry when every hop is trusted', () => {
    expect(net.clientAddress(LB, ['10.1.1.1, 10.2.2.2'])).toEqual(client('10.1.1.1'))
    expect(net.clientAddress(LB, ['10.1.1.1', '10.2.2.2'])).toEqual(client('10.1.1.1'))
  })

  it('denies when a trusted hop is followed (on its left) by a malformed entry', () => {
    expect(net.clientAddress(LB, ['unknown, 10.2.2.2'])).toEqual(UNRESOLVED)
    expect(net.clientAddress(LB, [', 10.2.2.2'])).toEqual(UNRESOLVED)
  })

  it('leaves the client unresolved when the socket address itself is unparsable', () => {
    expect(net.clientAddress(undefined, [CLIENT])).toEqual(UNRESOLVED)
    expect(net.clientAddress('garbage', [CLIENT])).toEqual(UNRESOLVED)
  })
})

describe('clientAddress behind a CDN and a load balancer', () => {
  const net = createNetPolicy(['10.0.0.0/8', '198.51.100.0/24'])

  it('skips both trusted hops to reach the client', () => {
    expect(net.clientAddress(LB, [`${CLIENT}, ${CDN}`])).toEqual(client(CLIENT))
  })

  it('ignores what the client itself claimed on the left', () => {
    expect(net.clientAddress(LB, [`${ATTACKER_CLAIM}, ${CLIENT}, ${CDN}`])).toEqual(client(CLIENT))
    expect(net.clientAddress(LB, [`10.0.0.1, ${CLIENT}, ${CDN}`])).toEqual(client(CLIENT))
  })

  it('treats several X-Forwarded-For field values as one list, in order', () => {
    expect(net.clientAddress(LB, [ATTACKER_CLAIM, CLIENT, CDN])).toEqual(client(CLIENT))
    expect(net.clientAddress(LB, [`${ATTACKER_CLAIM}, ${CLIENT}`, CDN])).toEqual(client(CLIENT))
    expect(net.clientAddress(LB, [CLIENT, `${CDN}, 10.3.3.3`])).toEqual(client(CLIENT))
    // Order matters: the rightmost untrusted entry across all values decides.
    expect(net.clientAddress(LB, [CDN, CLIENT])).toEqual(client(CLIENT))
    expect(net.clientAddress(LB, [CLIENT, ATTACKER_CLAIM])).toEqual(client(ATTACKER_CLAIM))
  })

  it('denies when the entry before the CDN hop is garbage', () => {
    expect(net.clientAddress(LB, [`${CLIENT}, unknown, ${CDN}`])).toEqual(UNRESOLVED)
    expect(net.clientAddress(LB, [`${CLIENT}`, '', CDN])).toEqual(UNRESOLVED)
  })

  it('trusts IPv6 proxies, including a mapped socket matched against an IPv6 range over ::ffff:0:0/96', () => {
    const v6 = createNetPolicy(['2001:db8:ffff::/48'])
    expect(v6.clientAddress('2001:db8:ffff::1', [CLIENT])).toEqual(client(CLIENT))
    expect(v6.clientAddress('2001:db8:fffe::1', [CLIENT])).toEqual(client('2001:db8:fffe::1'))
    const all = createNetPolicy(['::/0'])
    expect(all.clientAddress(`::ffff:${LB}`, [`${CLIENT}, 2001:db8::7`])).toEqual(client(CLIENT))
  })
})

describe('isSecure', () => {
  const net = createNetPolicy(['10.0.0.0/8'])

  it('is true for a TLS socket whatever the headers say', () => {
    expect(net.isSecure(true, CLIENT, ['http'])).toBe(true)
  })

  it('believes X-Forwarded-Proto from a trusted proxy, case-insensitively', () => {
    expect(net.isSecure(false, LB, ['https'])).toBe(true)
    expect(net.isSecure(false, LB, ['HTTPS'])).toBe(true)
    expect(net.isSecure(undefined, `::ffff:${LB}`, [' HttpS\t'])).toBe(true)
  })

  it('uses the rightmost value across all fields and elements', () => {
    expect(net.isSecure(false, LB, ['http, https'])).toBe(true)
    expect(net.isSecure(false, LB, ['https, http'])).toBe(false)
    expect(net.isSecure(false, LB, ['https', 'http'])).toBe(false)
    expect(net.isSecure(false, LB, ['http', 'https'])).toBe(true)
    expect(net.isSecure(false, LB, ['https,'])).toBe(false)
  })

  it('ignores X-Forwarded-Proto from an untrusted socket', () => {
    expect(net.isSecure(false, CLIENT, ['https'])).toBe(false)
    expect(net.isSecure(false, undefined, ['https'])).toBe(false)
    expect(net.isSecure(false, 'garbage', ['https'])).toBe(false)
  })

  it('is false without X-Forwarded-Proto or with anything but https', () => {
    expect(net.isSecure(false, LB, undefined)).toBe(false)
    expect(net.isSecure(false, LB, [])).toBe(false)
    for (const v of ['http', 'wss', 'https2', 'http s', '"https"', 'ht\u0000ps', 'httpſ', '']) {
      expect(net.isSecure(false, LB, [v])).toBe(false)
    }
  })

  // Each of the five letters changed alone (to its neighbours, to a character that differs from
  // it or its upper case by 0x20 only in the other direction), and every length around five.
  const lookAlikes: string[] = []
  for (let i = 0; i < 5; i++) {
    for (const d of [-1, 1, -0x20 - 1, 0x40]) {
      const c = 'https'.charCodeAt(i) + d
      lookAlikes.push(`https`.slice(0, i) + String.fromCharCode(c) + 'https'.slice(i + 1))
    }
  }
  lookAlikes.push('http', 'httpss', 'xhttps', 'https\u0000', 'ttps', 'hhttps')
  it.each(lookAlikes.map((v) => [JSON.stringify(v), v]))('is false for the look-alike %s', (_, v) => {
    expect(net.isSecure(false, LB, [v])).toBe(false)
    expect(net.isSecure(false, LB, ['https', v])).toBe(false)
  })
})

describe('socket addresses with a zone id', () => {
  it.each([
    ['a numeric zone id', 'fe80::1%1', 'fe80::1'],
    ['a multi-digit numeric zone id', 'fe80::abcd%42', 'fe80::abcd'],
    ['a named zone id', 'fe80::1%eth0', 'fe80::1'],
  ])('drops %s from the socket address (RFC 4007 §11)', (_, sock, text) => {
    const net = createNetPolicy(undefined)
    expect(net.clientAddress(sock, undefined)).toEqual(client(text))
  })
})

describe('NetPolicy properties', () => {
  const params = { seed: SEED, numRuns: 1500 }
  const trusted = createNetPolicy(['10.0.0.0/8', '2001:db8::/32'])
  const header = fc.array(fc.oneof(addressText, fc.string({ maxLength: 30 }), fc.constantFrom('unknown', '', '10.0.0.9', CLIENT)), { maxLength: 4 }).map((parts) => parts.join(','))

  it('never throws; text is always formatIp(addr); unresolved is all-undefined', () => {
    fc.assert(
      fc.property(fc.option(addressText), fc.option(fc.array(header, { maxLength: 3 })), (sock, xff) => {
        for (const net of [trusted, createNetPolicy(undefined)]) {
          const r = net.clientAddress(sock ?? undefined, xff ?? undefined)
          if (r.addr === undefined) expect(r).toEqual(UNRESOLVED)
          else expect(r.text).toBe(formatIp(r.addr))
        }
      }),
      params,
    )
  })

  it('a resolved client is the untrusted socket, or an X-Forwarded-For entry', () => {
    let resolvedCount = 0
    fc.assert(
      fc.property(addressText, fc.array(header, { minLength: 1, maxLength: 3 }), (sock, xff) => {
        const r = trusted.clientAddress(sock, xff)
        if (r.text === undefined) {
          expect(r).toEqual(UNRESOLVED)
          return
        }
        resolvedCount++
        const entries = xff.join(',').split(',').map((e) => parseIp(e.replace(/^[ \t]+|[ \t]+$/g, '')))
        const socket = parseIp(sock.split('%')[0]!) // the socket's zone id is dropped
        const candidates = [socket, ...entries].filter((a) => a !== undefined).map(formatIp)
        expect(candidates).toContain(r.text)
      }),
      params,
    )
    // The property above says something only about resolved clients: there must be many.
    expect(resolvedCount).toBeGreaterThan(params.numRuns / 4)
  })
})

describe('createNetPolicy: the words of its errors', () => {
  it('names a null entry as null and a value that is not an array as such', () => {
    expect(() => createNetPolicy(['10.0.0.0/8', null] as unknown as string[])).toThrow(TypeError)
    expect(() => createNetPolicy(['10.0.0.0/8', null] as unknown as string[])).toThrow(/^trustProxy\[1\]: must be a string, got null$/)
    expect(() => createNetPolicy(null as unknown as string[])).toThrow(/^trustProxy: must be an array of IP addresses or CIDRs$/)
  })
})
