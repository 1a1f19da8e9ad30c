/**
 * The `WWW-Authenticate` of a deny: every configured challenge scheme once on a 401 (RFC 9110
 * §11.6.1), the RFC 6750 error only on the presenting Bearer challenge, `invalid_request` on a
 * Bearer 400 and `insufficient_scope` on a Bearer permission 403, nothing on other 403s.
 */
import { describe, expect, it } from 'vitest'
import { DenyTable } from '../../src/core/deny.js'
import { schemes } from '../../src/index.js'
import { harness } from '../_support/core.js'

const bearer = schemes.bearer()
/** A verifying scheme that shares Bearer's challenge, as the JWT scheme does. */
const tokenScheme = { ...schemes.bearer(), name: 'token-like', verify: async () => ({ ok: false as const, reason: 'invalid_token' as const }) }
const apiKey = schemes.apiKeyHeader()

describe('WWW-Authenticate', () => {
  it('lists a challenge shared by two schemes once, with the error when either of them presented', () => {
    const t = new DenyTable([apiKey, bearer, tokenScheme], 'api', false)
    const withError = [apiKey.challenge('api'), bearer.challenge('api', 'invalid_token')].join(', ')
    expect(t.deny(tokenScheme, 'invalid_token').headers['www-authenticate']).toBe(withError)
    expect(t.deny(bearer, 'unknown_key').headers['www-authenticate']).toBe(withError)
    expect(t.deny(apiKey, 'unknown_key').headers['www-authenticate']).toBe([apiKey.challenge('api'), bearer.challenge('api')].join(', '))
    expect(t.deny(undefined, 'missing_credentials').headers['www-authenticate']).toBe([apiKey.challenge('api'), bearer.challenge('api')].join(', '))
  })

  it('puts no error on a challenge whose scheme does not carry RFC 6750 errors, even when it presented', () => {
    // A scheme sharing the Bearer challenge word without Bearer errors.
    const plain = { ...schemes.bearer(), name: 'plain-bearer', bearerErrors: false }
    const t = new DenyTable([plain], 'api', false)
    expect(t.deny(plain, 'unknown_key').headers['www-authenticate']).toBe(plain.challenge('api'))
    expect(t.deny(plain, 'malformed_credentials').headers['www-authenticate']).toBeUndefined()
    expect(t.deny(plain, 'insufficient_permission').headers['www-authenticate']).toBeUndefined()
  })

  it('answers a malformed Bearer credential with 400 and error="invalid_request" on the Bearer challenge only', async () => {
    const h = harness()
    const d = await h.authorizer({ schemes: [apiKey, bearer] })({ headers: { authorization: 'Bearer a b' } })
    expect(d.allow ? undefined : [d.status, d.headers['www-authenticate']]).toEqual([400, bearer.challenge('api', 'invalid_request')])
  })

  it('answers a missing permission with error="insufficient_scope" for Bearer, and no challenge on other 403s or for an API key', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only', allowedIps: ['192.0.2.0/24'] })
    const auth = h.authorizer({ schemes: [apiKey, bearer] })
    const asBearer = { headers: { authorization: `Bearer ${k.key}` }, remoteAddress: '192.0.2.1' }
    const scope = await auth(asBearer, 'scans:manage')
    expect(scope.allow ? undefined : [scope.status, scope.headers['www-authenticate']]).toEqual([403, bearer.challenge('api', 'insufficient_scope')])
    const ip = await auth({ ...asBearer, remoteAddress: '198.51.100.1' }, 'scans:read')
    expect(ip.allow ? undefined : [ip.status, ip.headers['www-authenticate']]).toEqual([403, undefined])
    const key = await auth({ headers: { 'x-api-key': k.key }, remoteAddress: '192.0.2.1' }, 'scans:manage')
    expect(key.allow ? undefined : [key.status, key.headers['www-authenticate']]).toEqual([403, undefined])
  })

  it('says "token" in the message of a verifying scheme and "API key" otherwise', () => {
    const t = new DenyTable([apiKey, tokenScheme], 'api', false)
    expect(t.deny(tokenScheme, 'unknown_key').message).toContain('token')
    expect(t.deny(tokenScheme, 'unknown_key').message).not.toContain('API key')
    expect(t.deny(apiKey, 'unknown_key').message).toContain('API key')
    expect(t.deny(undefined, 'missing_credentials').message).not.toContain('token')
  })
})
