/**
 * The admin API and the keys agree on tenants: in a single-tenant deployment (an authorizer with
 * no `tenant` option), an administrator key with a tenant cannot administer tenant-less keys, and
 * says so plainly instead of answering 404 for each of them. Over real HTTP (Express on 127.0.0.1).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { close } from '../adapters/_http.js'
import { fixture, type ProblemBody } from './_fixture.js'
import { serve, servers } from './_mounts.js'

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => close(s)))
})

const ROUTES: [string, string, unknown][] = [
  ['GET', '', undefined],
  ['PATCH', '', { description: 'x' }],
  ['DELETE', '', undefined],
  ['POST', '/deactivate', undefined],
  ['POST', '/rotate', { graceMs: 0 }],
]

async function call(base: string, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: ProblemBody }> {
  const res = await fetch(`${base}/admin/api${path}`, {
    method,
    headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: res.status, body: (await res.json()) as ProblemBody }
}

describe('tenants that disagree between the administrator and the keys', () => {
  it('refuses, with a message naming the fix, an Org key with a tenant acting on tenant-less keys of a single-tenant deployment', async () => {
    const f = await fixture()
    const base = await serve('express5', f.handler)
    const user = await f.manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const before = await f.manager.get(user.record.id)
    for (const [method, suffix, body] of ROUTES) {
      const r = await call(base, f.acme, method, `/keys/${user.record.id}${suffix}`, body)
      expect({ route: `${method} ${suffix}`, status: r.status, code: r.body.code }).toEqual({ route: `${method} ${suffix}`, status: 409, code: 'tenant_setup' })
      expect(r.body.detail).toMatch(/same tenant, or none/)
    }
    expect(await f.manager.get(user.record.id)).toEqual(before)
  })

  it('keeps answering 404 for another tenant\'s key, and for tenant-less keys where the authorizer compares tenants', async () => {
    const single = await fixture()
    const globexKey = await single.manager.issue({ kind: 'user', owner: 'gus', role: 'Read Only', tenant: 'globex' })
    const base1 = await serve('express5', single.handler)
    expect((await call(base1, single.acme, 'GET', `/keys/${globexKey.record.id}`)).status).toBe(404)
    const multi = await fixture({ authorizer: { tenant: (_request, header) => header('x-tenant') ?? 'acme' } })
    const tenantless = await multi.manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const base2 = await serve('express5', multi.handler)
    const r = await call(base2, multi.acme, 'GET', `/keys/${tenantless.record.id}`)
    expect({ status: r.status, code: r.body.code }).toEqual({ status: 404, code: 'not_found' })
  })
})
