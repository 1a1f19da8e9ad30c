/**
 * The deny table is computed when the authorizer is created; these check that what it hands out
 * is what the per-request computation gave, and that no request can change it for the next.
 */
import { describe, expect, it } from 'vitest'
import { DenyTable, REASONS } from '../../src/core/deny.js'
import { codeOf, messageOf, STATUS_OF } from '../../src/decision.js'
import { schemes } from '../../src/schemes/index.js'

const configured = [schemes.apiKeyHeader(), schemes.bearer(), schemes.restApiKey()]

describe('DenyTable', () => {
  for (const exposeReasons of [false, true]) {
    it(`gives every reason its code, status and message (exposeReasons ${exposeReasons})`, () => {
      const t = new DenyTable(configured, 'api', exposeReasons)
      for (const presenting of [undefined, ...configured]) {
        for (const reason of REASONS) {
          const d = t.deny(presenting, reason)
          const code = codeOf(reason, exposeReasons)
          expect(d).toMatchObject({ allow: false, reason, code, status: STATUS_OF[code], message: messageOf(code, reason) })
          expect('www-authenticate' in d.headers).toBe(d.status === 401 || (presenting?.bearerErrors === true && (d.status === 400 || code === 'insufficient_permission')))
        }
      }
    })
  }

  it('puts the error only on the presenting bearer challenge of a 401', () => {
    const t = new DenyTable(configured, 'acme', false)
    const [k, b, r] = configured as [typeof configured[0], typeof configured[0], typeof configured[0]]
    expect(t.deny(b, 'unknown_key').headers['www-authenticate']).toBe([k.challenge('acme'), b.challenge('acme', 'invalid_token'), r.challenge('acme')].join(', '))
    expect(t.deny(configured[1], 'missing_credentials').headers['www-authenticate']).not.toContain('error=')
    expect(t.deny(configured[0], 'unknown_key').headers['www-authenticate']).not.toContain('error=')
  })

  it('hands each deny its own headers: changing one never changes the next', () => {
    const t = new DenyTable(configured, 'api', false)
    const a = t.deny(undefined, 'unknown_key', { retryAfterSec: 3 })
    a.headers['www-authenticate'] = 'tampered'
    a.headers['x-extra'] = '1'
    const b = t.deny(undefined, 'unknown_key')
    expect(b.headers['www-authenticate']).not.toBe('tampered')
    expect(b.headers).not.toHaveProperty('x-extra')
    expect(b.headers).not.toHaveProperty('retry-after')
    expect(a.headers['retry-after']).toBe('3')
  })

  it('names the permission a route needs, and says "token" for a verifying scheme', () => {
    const jwtLike = { ...schemes.bearer(), name: 'jwt-like', verify: async () => ({ ok: false as const, reason: 'invalid_token' as const }) }
    const t = new DenyTable([jwtLike], 'api', false)
    expect(t.deny(jwtLike, 'insufficient_permission', { subject: 'scans:manage' }).message).toBe(messageOf('insufficient_permission', 'insufficient_permission', 'scans:manage', 'token'))
    expect(t.deny(jwtLike, 'unknown_key').message).toBe(messageOf('invalid_credentials', 'unknown_key', undefined, 'token'))
  })
})
