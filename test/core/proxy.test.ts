/**
 * Client address and transport at the authorize() level: every spoofing case of the issue on
 * "allowlists that cannot be spoofed", as a table.
 */
import { describe, expect, it } from 'vitest'
import type { AuthorizerOptions, AuthRequest } from '../../src/index.js'
import { harness, seen } from '../_support/core.js'

const LB = '10.0.0.5' // our load balancer
const CDN = '203.0.113.10' // CDN edge in front of it
const CLIENT = '198.51.100.7' // the real, allowlisted client
const ATTACKER = '192.0.2.66'

interface Case {
  name: string
  trustProxy?: string[]
  remote?: string
  xff?: string | string[]
  expect: 'allow' | 'ip_not_allowed'
  clientIp?: string
}

const CASES: Case[] = [
  { name: 'direct client on the allowlist', remote: CLIENT, expect: 'allow', clientIp: CLIENT },
  { name: 'direct attacker', remote: ATTACKER, expect: 'ip_not_allowed', clientIp: ATTACKER },
  { name: 'attacker forging X-Forwarded-For with no trusted proxy configured', remote: ATTACKER, xff: CLIENT, expect: 'ip_not_allowed', clientIp: ATTACKER },
  { name: 'attacker forging X-Forwarded-For to a server that trusts another proxy', trustProxy: ['10.0.0.0/24'], remote: ATTACKER, xff: CLIENT, expect: 'ip_not_allowed', clientIp: ATTACKER },
  { name: 'client behind one trusted load balancer', trustProxy: ['10.0.0.0/24'], remote: LB, xff: CLIENT, expect: 'allow', clientIp: CLIENT },
  { name: 'attacker behind the load balancer prepending the client address', trustProxy: ['10.0.0.0/24'], remote: LB, xff: `${CLIENT}, ${ATTACKER}`, expect: 'ip_not_allowed', clientIp: ATTACKER },
  { name: 'client behind CDN and load balancer, both trusted', trustProxy: ['10.0.0.0/24', '203.0.113.0/24'], remote: LB, xff: `${CLIENT}, ${CDN}`, expect: 'allow', clientIp: CLIENT },
  { name: 'attacker behind CDN and load balancer with a forged leftmost entry', trustProxy: ['10.0.0.0/24', '203.0.113.0/24'], remote: LB, xff: `${CLIENT}, ${ATTACKER}, ${CDN}`, expect: 'ip_not_allowed', clientIp: ATTACKER },
  { name: 'CDN not trusted: its address is the client', trustProxy: ['10.0.0.0/24'], remote: LB, xff: `${CLIENT}, ${CDN}`, expect: 'ip_not_allowed', clientIp: CDN },
  { name: 'several X-Forwarded-For fields read as one list in order', trustProxy: ['10.0.0.0/24'], remote: LB, xff: [CLIENT, ATTACKER], expect: 'ip_not_allowed', clientIp: ATTACKER },
  { name: '"unknown" where it decides the client', trustProxy: ['10.0.0.0/24'], remote: LB, xff: `${CLIENT}, unknown`, expect: 'ip_not_allowed' },
  { name: 'an empty entry where it decides the client', trustProxy: ['10.0.0.0/24'], remote: LB, xff: `${CLIENT}, `, expect: 'ip_not_allowed' },
  { name: 'an unparsable entry where it decides the client', trustProxy: ['10.0.0.0/24'], remote: LB, xff: `${CLIENT}, 198.51.100.7x`, expect: 'ip_not_allowed' },
  { name: 'an entry with a port', trustProxy: ['10.0.0.0/24'], remote: LB, xff: `${CLIENT}:443`, expect: 'ip_not_allowed' },
  { name: 'shorthand IPv4 in X-Forwarded-For', trustProxy: ['10.0.0.0/24'], remote: LB, xff: '198.51.100.07', expect: 'ip_not_allowed' },
  { name: 'all hops trusted: the leftmost is the client', trustProxy: ['10.0.0.0/24', '198.51.100.0/24'], remote: LB, xff: `${CLIENT}, 10.0.0.9`, expect: 'allow', clientIp: CLIENT },
  { name: 'IPv4-mapped IPv6 socket address of the client', remote: `::ffff:${CLIENT}`, expect: 'allow', clientIp: CLIENT },
  { name: 'IPv4-mapped IPv6 socket address of a trusted proxy', trustProxy: ['10.0.0.0/24'], remote: `::ffff:${LB}`, xff: CLIENT, expect: 'allow', clientIp: CLIENT },
  { name: 'native IPv6 client against an IPv4-only allowlist', remote: '2001:db8::7', expect: 'ip_not_allowed', clientIp: '2001:db8::7' },
  { name: 'no socket address at all', remote: undefined, expect: 'ip_not_allowed' },
  { name: 'an unparsable socket address', remote: 'not-an-ip', expect: 'ip_not_allowed' },
]

describe('client address at the authorize() level', () => {
  it.each(CASES)('$name → $expect', async (c) => {
    const h = harness()
    const { key } = await h.issue({ kind: 'user', owner: 'a', role: 'Read Only', allowedIps: [`${CLIENT}/32`] })
    const opts: Partial<AuthorizerOptions> = c.trustProxy ? { trustProxy: c.trustProxy } : {}
    const req: Partial<AuthRequest> = { headers: { 'x-api-key': key, ...(c.xff === undefined ? {} : { 'x-forwarded-for': c.xff }) }, remoteAddress: c.remote }
    const d = await h.authorizer(opts)(req)
    expect(d.allow ? 'allow' : seen(d).reason).toBe(c.expect)
    expect(h.events.at(-1)?.clientIp).toBe(c.clientIp)
  })

  it('lets a key without an allowlist through whatever the address', async () => {
    const h = harness()
    const { key } = await h.issue({ kind: 'org' })
    expect((await h.authorizer({ trustProxy: ['10.0.0.0/24'] })({ headers: { 'x-api-key': key, 'x-forwarded-for': 'unknown' }, remoteAddress: LB })).allow).toBe(true)
  })

  it('requires the group allowlist and the key allowlist to admit the address', async () => {
    const h = harness()
    const g = await h.manager.createGroup({ name: 'g', allowedIps: ['198.51.100.0/24'] })
    const { key } = await h.issue({ kind: 'org', group: g.id, allowedIps: ['2001:db8::/32', '198.51.100.0/25'] })
    const auth = h.authorizer()
    expect((await auth({ headers: { 'x-api-key': key }, remoteAddress: '198.51.100.7' })).allow).toBe(true)
    expect(seen(await auth({ headers: { 'x-api-key': key }, remoteAddress: '198.51.100.200' })).reason).toBe('ip_not_allowed')
    expect(seen(await auth({ headers: { 'x-api-key': key }, remoteAddress: '2001:db8::1' })).reason).toBe('ip_not_allowed')
  })
})

describe('TLS behind proxies', () => {
  const tls = (trustProxy: string[] | undefined, remote: string, xfp: string | string[] | undefined, secure?: boolean) => async () => {
    const h = harness()
    const { key } = await h.issue({ kind: 'org' })
    const auth = h.authorizer({ requireTls: true, ...(trustProxy ? { trustProxy } : {}) })
    const d = await auth({ headers: { 'x-api-key': key, ...(xfp === undefined ? {} : { 'x-forwarded-proto': xfp }) }, remoteAddress: remote, secure })
    return d.allow ? 'allow' : seen(d).reason
  }

  it('accepts a TLS socket', async () => expect(await tls(undefined, CLIENT, undefined, true)()).toBe('allow'))
  it('refuses X-Forwarded-Proto from an untrusted peer', async () => expect(await tls(undefined, ATTACKER, 'https')()).toBe('insecure_transport'))
  it('accepts X-Forwarded-Proto: https from a trusted proxy', async () => expect(await tls(['10.0.0.0/24'], LB, 'https')()).toBe('allow'))
  it('reads the rightmost X-Forwarded-Proto value', async () => {
    expect(await tls(['10.0.0.0/24'], LB, 'https, http')()).toBe('insecure_transport')
    expect(await tls(['10.0.0.0/24'], LB, ['http', 'HTTPS'])()).toBe('allow')
  })
  it('refuses a trusted proxy that says http', async () => expect(await tls(['10.0.0.0/24'], LB, 'http')()).toBe('insecure_transport'))
})

describe('trustProxy validation', () => {
  it.each([['127.1'], ['10.0.0.1/8'], ['::1/129'], ['fe80::1%eth0'], ['not an ip']])('refuses %s at construction, naming trustProxy', (entry) => {
    const h = harness()
    expect(() => h.authorizer({ trustProxy: [entry] })).toThrow(/trustProxy\[0\]/)
  })
})
