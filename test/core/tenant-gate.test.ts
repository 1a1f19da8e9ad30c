/**
 * The request's tenant is resolved once per request and compared with the key's right after the
 * key lookup, whatever path the request takes afterwards.
 */
import { describe, expect, it } from 'vitest'
import { schemes } from '../../src/index.js'
import { harness } from '../_support/core.js'

describe('the tenant function', () => {
  it('is called once for a request that is allowed', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only', tenant: 'acme' })
    let calls = 0
    const auth = h.authorizer({ tenant: () => (calls++, 'acme') })
    expect((await auth({ headers: { 'x-api-key': k.key } }, 'scans:read')).allow).toBe(true)
    expect(calls).toBe(1)
  })

  it('is called once for a Contrast pair that is allowed', async () => {
    const h = harness()
    const org = await h.issue({ kind: 'tenant', tenant: 'org-1' })
    const svc = await h.issue({ kind: 'user', owner: 'svc', tenant: 'org-1', role: 'Read Only' })
    let calls = 0
    const auth = h.authorizer({ schemes: [schemes.contrast()], tenant: () => (calls++, 'org-1') })
    const headers = { 'api-key': org.key, authorization: Buffer.from(`svc:${svc.key}`).toString('base64') }
    expect((await auth({ headers }, 'scans:read')).allow).toBe(true)
    expect(calls).toBe(1)
  })
})
