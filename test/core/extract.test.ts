/**
 * Exactly one credential per request, through authorize() with several schemes: two credentials
 * conflict, a malformed reading beats a good one, half a Contrast pair alone is missing, and a
 * scheme whose extract() throws is malformed, never a crash.
 */
import { describe, expect, it } from 'vitest'
import { schemes, type Extraction, type Scheme } from '../../src/index.js'
import { basicOf, harness, seen } from '../_support/core.js'

async function keys() {
  const h = harness()
  const a = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
  const b = await h.issue({ kind: 'user', owner: 'bob', role: 'Read Only' })
  return { h, a: a.key, b: b.key }
}

const throwing: Scheme = {
  name: 'throwing',
  headers: ['x-throwing'],
  challengeScheme: 'throwing',
  bearerErrors: false,
  challenge: () => 'Throwing',
  extract(values) {
    if (values.has('x-throwing')) throw new Error('boom')
    return undefined
  },
}

describe('extraction with several schemes', () => {
  it.each([
    ['the same key in two headers', (a: string) => ({ 'x-api-key': a, authorization: `Bearer ${a}` })],
    ['two different keys', (a: string, b: string) => ({ 'x-api-key': a, authorization: `Bearer ${b}` })],
    ['a key and Basic credentials', (a: string, b: string) => ({ 'x-api-key': a, authorization: basicOf('api', b) })],
  ])('refuses %s as conflicting', async (_, headers) => {
    const { h, a, b } = await keys()
    const auth = h.authorizer({ schemes: [schemes.apiKeyHeader(), schemes.bearer(), schemes.basic()] })
    expect(seen(await auth({ headers: headers(a, b) })).reason).toBe('conflicting_credentials')
  })

  it('lets a malformed reading win over a good credential in another header', async () => {
    const { h, a } = await keys()
    const auth = h.authorizer({ schemes: [schemes.apiKeyHeader(), schemes.basic()] })
    expect(seen(await auth({ headers: { 'x-api-key': a, authorization: 'Basic YT.i' } })).reason).toBe('malformed_credentials')
    expect(seen(await auth({ headers: { 'x-api-key': ` ${a}\u0000`, authorization: basicOf('api', a) } })).reason).toBe('malformed_credentials')
  })

  it('allows one credential when the other schemes find nothing', async () => {
    const { h, a } = await keys()
    const auth = h.authorizer({ schemes: [schemes.apiKeyHeader(), schemes.bearer(), schemes.basic(), schemes.contrast()] })
    for (const headers of [{ 'x-api-key': a }, { authorization: `Bearer ${a}` }, { authorization: basicOf('api', a) }]) {
      const d = await auth({ headers })
      expect(d.allow).toBe(true)
    }
  })

  it('takes half a Contrast pair alone as missing credentials, with one scheme or several', async () => {
    const { h, a } = await keys()
    for (const list of [[schemes.contrast()], [schemes.contrast(), schemes.apiKeyHeader()]]) {
      const auth = h.authorizer({ schemes: list })
      expect(seen(await auth({ headers: { 'api-key': a } })).reason).toBe('missing_credentials')
    }
  })

  it('refuses nothing at all as missing credentials', async () => {
    const { h } = await keys()
    for (const list of [[schemes.apiKeyHeader()], [schemes.apiKeyHeader(), schemes.bearer()]]) {
      expect(seen(await h.authorizer({ schemes: list })({ headers: { 'x-other': 'x' } })).reason).toBe('missing_credentials')
    }
  })

  it('takes a scheme whose extract() throws as malformed, alone or with others, and still allows without its header', async () => {
    const { h, a } = await keys()
    for (const list of [[throwing], [throwing, schemes.apiKeyHeader()]]) {
      const auth = h.authorizer({ schemes: list })
      expect(seen(await auth({ headers: { 'x-throwing': '1', 'x-api-key': a } })).reason).toBe('malformed_credentials')
    }
    expect((await h.authorizer({ schemes: [throwing, schemes.apiKeyHeader()] })({ headers: { 'x-api-key': a } })).allow).toBe(true)
  })

  /** A scheme of this test that reads `header` and hands back what `found` makes of its value. */
  const custom = (name: string, header: string, found: (v: string) => Extraction): Scheme => ({
    name,
    headers: [header],
    challengeScheme: name,
    bearerErrors: false,
    challenge: () => name,
    extract: (values) => {
      const v = values.get(header)
      return v === undefined ? undefined : found(v[0]!)
    },
    verify: async () => ({ ok: false, reason: 'invalid_token' }),
  })

  it('lets a reading of more headers win over a higher-ranked reading of fewer (the Contrast pair over a token)', async () => {
    const h = harness()
    const org = await h.issue({ kind: 'tenant', tenant: 'org-1' })
    const svc = await h.issue({ kind: 'user', owner: 'svc', tenant: 'org-1', role: 'Read Only' })
    const token = custom('tok', 'authorization', (v) => ({ type: 'token', token: v, sources: ['authorization'] }))
    const auth = h.authorizer({ schemes: [schemes.contrast(), token] })
    const d = await auth({ headers: { 'api-key': org.key, authorization: Buffer.from(`svc:${svc.key}`).toString('base64') } })
    expect(d.allow && d.principal.scheme).toBe('contrast')
  })

  it('takes two readings of the same header with the same rank as a conflict, not as nothing', async () => {
    const { h, a } = await keys()
    const twin = custom('twin', 'x-api-key', (v) => ({ type: 'key', key: v, sources: ['x-api-key'] }))
    const auth = h.authorizer({ schemes: [schemes.apiKeyHeader(), twin] })
    expect(seen(await auth({ headers: { 'x-api-key': a } })).reason).toBe('conflicting_credentials')
  })
})
