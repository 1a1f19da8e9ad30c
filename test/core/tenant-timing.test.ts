/**
 * A key of another tenant costs the same store calls as an unknown key: the request's tenant is
 * compared with the key's straight after the key lookup, before any group or owner lookup, so
 * the number of round trips (and so the latency) cannot tell the two apart.
 */
import { describe, expect, it } from 'vitest'
import { createAuthorizer, generateKey, schemes, type AuthRequest, type Decision } from '../../src/index.js'
import { spyStore, type Answering } from '../resilience/_spy-store.js'

const NOW = Date.UTC(2030, 0, 1)

async function setup(answering: Answering) {
  const store = spyStore(answering, () => NOW - 1000)
  const m = store.manager
  const group = await m.createGroup({ name: 'integrations', tenant: 'globex' })
  await store.inner.putOwner('gil@globex.test', { active: true, role: 'Read Write' })
  const org = await m.issue({ kind: 'tenant', tenant: 'globex', group: group.id, owner: 'gil@globex.test' })
  const other = await m.issue({ kind: 'user', tenant: 'globex', group: group.id, owner: 'gil@globex.test', role: 'Read Write' })
  const authorizerOf = (scheme: 'api-key' | 'contrast') =>
    createAuthorizer({
      store,
      now: () => NOW,
      touchIntervalMs: 0,
      schemes: [scheme === 'contrast' ? schemes.contrast() : schemes.apiKeyHeader()],
      tenant: (req) => req.url?.split('/')[1],
    })
  const authorizers = { 'api-key': authorizerOf('api-key'), contrast: authorizerOf('contrast') }
  const call = async (headers: Record<string, string>): Promise<{ d: Decision; calls: string[] }> => {
    const authorizer = 'api-key' in headers ? authorizers.contrast : authorizers['api-key']
    store.calls.length = 0
    const req: AuthRequest = { method: 'GET', url: '/acme/scans', headers, remoteAddress: '127.0.0.1' }
    const d = await authorizer.authorize(req, 'scans:read')
    return { d, calls: [...store.calls] }
  }
  const contrastAuth = (user: string, key: string) => Buffer.from(`${user}:${key}`).toString('base64')
  return { call, org, other, contrastAuth }
}

describe.each(['async', 'peek'] as const)('with a store answering %s', (answering) => {
  it('makes the same store calls for a key of another tenant as for an unknown key', async () => {
    const { call, other } = await setup(answering)
    const unknown = await call({ 'x-api-key': generateKey() })
    const foreign = await call({ 'x-api-key': other.key })
    expect([unknown.d.status, foreign.d.status]).toEqual([401, 401])
    expect(foreign.d.allow ? undefined : foreign.d.reason).toBe('tenant_mismatch')
    expect(foreign.calls).toEqual(unknown.calls)
    expect(foreign.calls).toHaveLength(1)
  })

  it('makes the same store calls for a Contrast pair of another tenant as for an unknown pair', async () => {
    const { call, org, other, contrastAuth } = await setup(answering)
    const unknown = await call({ 'api-key': generateKey(), authorization: contrastAuth('gil@globex.test', generateKey()) })
    const foreign = await call({ 'api-key': org.key, authorization: contrastAuth('gil@globex.test', other.key) })
    expect([unknown.d.status, foreign.d.status]).toEqual([401, 401])
    expect(foreign.d.allow ? undefined : foreign.d.reason).toBe('tenant_mismatch')
    expect(foreign.calls).toEqual(unknown.calls)
    expect(foreign.calls).toHaveLength(2)
  })
})
