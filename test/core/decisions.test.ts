/**
 * One test per row of DESIGN.md's status/code/reason table, through authorize() and renderDeny().
 */
import { describe, expect, it } from 'vitest'
import { renderDeny, schemes, tokenBucket, type DenyDecision, type KeyStore } from '../../src/index.js'
import { harness, seen } from '../_support/core.js'

async function setup() {
  const h = harness()
  const user = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Write', tenant: 't1' })
  return { h, user }
}

describe('the status table', () => {
  it('allows a valid key with 200 and a principal without secrets', async () => {
    const { h, user } = await setup()
    const d = await h.authorizer()({ headers: { 'x-api-key': user.key } }, 'scans:manage')
    expect(d).toMatchObject({ allow: true, status: 200, principal: { keyId: user.id, kind: 'user', owner: 'ana', role: 'Read Write', tenant: 't1', scheme: 'api-key' } })
    expect(JSON.stringify(d)).not.toContain(user.key)
  })

  it('denies malformed credentials with 400 invalid_request', async () => {
    const { h } = await setup()
    expect(seen(await h.authorizer()({ headers: { 'x-api-key': 'a\u0001b' } }))).toEqual({ status: 400, code: 'invalid_request', reason: 'malformed_credentials' })
  })

  it('denies two schemes in one request with 400 conflicting_credentials', async () => {
    const { h, user } = await setup()
    const auth = h.authorizer({ schemes: [schemes.apiKeyHeader(), schemes.bearer()] })
    expect(seen(await auth({ headers: { 'x-api-key': user.key, authorization: `Bearer ${user.key}` } }))).toEqual({ status: 400, code: 'invalid_request', reason: 'conflicting_credentials' })
  })

  it('denies a request without credentials with 401 missing_credentials and a challenge', async () => {
    const { h } = await setup()
    const d = (await h.authorizer()({ headers: {} })) as DenyDecision
    expect(seen(d)).toEqual({ status: 401, code: 'missing_credentials', reason: 'missing_credentials' })
    expect(d.headers['www-authenticate']).toBe('ApiKey realm="api", header="X-Api-Key"')
  })

  it('denies an unknown key with 401 invalid_credentials', async () => {
    const { h } = await setup()
    expect(seen(await h.authorizer()({ headers: { 'x-api-key': '3f0e8a52-6a1c-4c57-9d5e-2a8c1f0b7e44' } }))).toEqual({ status: 401, code: 'invalid_credentials', reason: 'unknown_key' })
  })

  it('denies a keyward-shaped key with a wrong checksum without a store lookup', async () => {
    const { h, user } = await setup()
    let lookups = 0
    const store: KeyStore = { findByHash: async (hash) => (lookups++, h.store.findByHash(hash)) }
    const bad = user.key.slice(0, -1) + (user.key.endsWith('A') ? 'B' : 'A')
    expect(seen(await h.authorizer({ store })({ headers: { 'x-api-key': bad } }))).toEqual({ status: 401, code: 'invalid_credentials', reason: 'bad_checksum' })
    expect(lookups).toBe(0)
  })

  it('denies a key of another tenant with 401, indistinguishable from an unknown key', async () => {
    const { h, user } = await setup()
    const auth = h.authorizer({ tenant: () => 't2' })
    const wrong = (await auth({ headers: { 'x-api-key': user.key } })) as DenyDecision
    const unknown = (await auth({ headers: { 'x-api-key': 'kw_0123456789ABCDEFGHIJKLMNOPQRSTUV2jnASr' } })) as DenyDecision
    expect(wrong.reason).toBe('tenant_mismatch')
    expect(unknown.reason).toBe('unknown_key')
    expect(renderDeny(wrong)).toEqual(renderDeny(unknown))
  })

  it.each([
    ['key_disabled', 'key_disabled'],
    ['group_disabled', 'key_disabled'],
    ['owner_disabled', 'key_disabled'],
    ['key_expired', 'key_expired'],
    ['key_rotated', 'key_expired'],
  ] as const)('denies %s as 401 invalid_credentials, or %s with exposeReasons', async (reason, exposed) => {
    const h = harness()
    const group = await h.manager.createGroup({ name: 'g' })
    const { key, id } = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only', group: group.id, expiresAt: h.clock.now() + 60_000 })
    if (reason === 'key_disabled') await h.manager.deactivate(id)
    if (reason === 'group_disabled') await h.manager.deactivateGroup(group.id)
    if (reason === 'owner_disabled') await h.manager.setOwner('ana', { active: false })
    if (reason === 'key_expired') h.clock.advance(60_000)
    if (reason === 'key_rotated') {
      await h.manager.rotate(id, { graceMs: 1000 })
      h.clock.advance(1000)
    }
    const req = { headers: { 'x-api-key': key } }
    expect(seen(await h.authorizer()(req))).toEqual({ status: 401, code: 'invalid_credentials', reason })
    expect(seen(await h.authorizer({ exposeReasons: true })(req))).toEqual({ status: 401, code: exposed, reason })
  })

  it('denies plain HTTP under requireTls with 403 insecure_transport before any lookup', async () => {
    const { h, user } = await setup()
    let lookups = 0
    const store: KeyStore = { findByHash: async (hash) => (lookups++, h.store.findByHash(hash)) }
    const auth = h.authorizer({ store, requireTls: true })
    expect(seen(await auth({ headers: { 'x-api-key': user.key } }))).toEqual({ status: 403, code: 'insecure_transport', reason: 'insecure_transport' })
    expect(lookups).toBe(0)
    expect(h.events.at(-1)).toMatchObject({ reason: 'insecure_transport' })
    expect(h.events.at(-1)?.keyId).toBeUndefined()
    expect((await auth({ headers: { 'x-api-key': user.key }, secure: true })).allow).toBe(true)
  })

  it('denies an address outside the key\'s allowlist with 403 ip_not_allowed', async () => {
    const h = harness()
    const { key } = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only', allowedIps: ['192.0.2.0/24'] })
    const auth = h.authorizer()
    expect(seen(await auth({ headers: { 'x-api-key': key }, remoteAddress: '198.51.100.1' }))).toEqual({ status: 403, code: 'ip_not_allowed', reason: 'ip_not_allowed' })
    expect((await auth({ headers: { 'x-api-key': key }, remoteAddress: '192.0.2.77' })).allow).toBe(true)
  })

  it('denies a missing permission with 403 insufficient_permission naming it', async () => {
    const { h, user } = await setup()
    const d = (await h.authorizer()({ headers: { 'x-api-key': user.key } }, 'global-blackouts:manage')) as DenyDecision
    expect(seen(d)).toEqual({ status: 403, code: 'insufficient_permission', reason: 'insufficient_permission' })
    expect(d.message).toContain('global-blackouts:manage')
  })

  it('denies an operation that was not granted with 403 operation_not_granted', async () => {
    const { h, user } = await setup()
    const auth = h.authorizer({ explicitGrants: true })
    expect(seen(await auth({ headers: { 'x-api-key': user.key } }, { operation: 'getProjects' }))).toEqual({ status: 403, code: 'operation_not_granted', reason: 'operation_not_granted' })
  })

  it('denies over the per-key limit with 429 rate_limited and Retry-After', async () => {
    const { h, user } = await setup()
    const auth = h.authorizer({ rateLimiter: tokenBucket({ capacity: 2, refillPerSecond: 0.5, now: h.clock.now }) })
    const req = { headers: { 'x-api-key': user.key } }
    const first = await auth(req)
    expect(first.headers).toEqual({ 'ratelimit-limit': '2', 'ratelimit-remaining': '1', 'ratelimit-reset': '2' })
    await auth(req)
    const d = (await auth(req)) as DenyDecision
    expect(seen(d)).toEqual({ status: 429, code: 'rate_limited', reason: 'rate_limited' })
    expect(d.headers['retry-after']).toBe('2')
    expect(d.headers['ratelimit-remaining']).toBe('0')
  })

  it.each([
    ['throws', (): Promise<never> => { throw new Error('boom') }],
    ['rejects', () => Promise.reject(new Error('down'))],
    ['hangs past storeTimeoutMs', () => new Promise<never>(() => {})],
  ])('fails closed with 503 service_unavailable when the store %s', async (_, findByHash) => {
    const { h, user } = await setup()
    const d = (await h.authorizer({ store: { findByHash }, storeTimeoutMs: 20 })({ headers: { 'x-api-key': user.key } })) as DenyDecision
    expect(seen(d)).toEqual({ status: 503, code: 'service_unavailable', reason: 'store_unavailable' })
    expect(d.headers['retry-after']).toMatch(/^[1-9]\d*$/)
  })

  it('fails closed with 503 when the rate limiter hangs past storeTimeoutMs or throws', async () => {
    const { h, user } = await setup()
    for (const consume of [() => new Promise<never>(() => {}), () => { throw new Error('redis down') }]) {
      const d = (await h.authorizer({ storeTimeoutMs: 20, rateLimiter: { consume } })({ headers: { 'x-api-key': user.key } })) as DenyDecision
      expect(seen(d)).toEqual({ status: 503, code: 'service_unavailable', reason: 'store_unavailable' })
      expect(d.headers['retry-after']).toBe('1')
    }
  })

  it('fails closed when a group or owner lookup fails', async () => {
    const h = harness()
    const group = await h.manager.createGroup({ name: 'g' })
    const { key } = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only', group: group.id })
    const base = h.store
    const badGroup: KeyStore = { findByHash: (x) => base.findByHash(x), findGroup: () => Promise.reject(new Error('x')) }
    const badOwner: KeyStore = { findByHash: (x) => base.findByHash(x), findGroup: (x) => base.findGroup(x), findOwner: () => Promise.reject(new Error('x')) }
    expect(seen(await h.authorizer({ store: badGroup })({ headers: { 'x-api-key': key } })).status).toBe(503)
    expect(seen(await h.authorizer({ store: badOwner })({ headers: { 'x-api-key': key } })).status).toBe(503)
    // A store that cannot resolve groups at all disables grouped keys rather than ignoring the group.
    const noGroups: KeyStore = { findByHash: (x) => base.findByHash(x) }
    expect(seen(await h.authorizer({ store: noGroups })({ headers: { 'x-api-key': key } })).reason).toBe('group_disabled')
  })
})

describe('renderDeny', () => {
  it('renders RFC 9457 problem+json with exactly type, title, status, detail and code', async () => {
    const { h } = await setup()
    const d = (await h.authorizer()({ headers: { 'x-api-key': 'nope-nope-nope' } })) as DenyDecision
    const r = renderDeny(d)
    expect(r.status).toBe(401)
    expect(r.headers).toEqual({ 'www-authenticate': 'ApiKey realm="api", header="X-Api-Key"', 'content-type': 'application/problem+json', 'cache-control': 'no-store' })
    expect(JSON.parse(r.body)).toEqual({ type: 'urn:keyward:error:invalid_credentials', title: 'Invalid credentials', status: 401, detail: 'The API key is not valid.', code: 'invalid_credentials' })
    expect(r.body).not.toContain('nope-nope-nope')
    expect(r.body).not.toContain('unknown_key')
  })

  it('throws a TypeError saying what was passed, for a Promise, an allow decision or anything else', async () => {
    const { h, user } = await setup()
    const authorize = h.authorizer()
    const pending = authorize({ headers: { 'x-api-key': user.key } })
    const allowed = await authorize({ headers: { 'x-api-key': user.key } })
    expect(allowed.allow).toBe(true)
    const cases: [string, unknown, RegExp][] = [
      ['a forgotten await', pending, /^decision: renderDeny was given a Promise: await authorizer\.authorize/],
      ['an allow decision', allowed, /^decision: renderDeny was given an allow decision; render only denies: check decision\.allow first$/],
      ['undefined', undefined, /^decision: renderDeny was given undefined;/],
      ['null', null, /^decision: renderDeny was given null;/],
      ['a string', user.key, /^decision: renderDeny was given a string;/],
      ['a deny without a code', { allow: false, status: 401, headers: {} }, /^decision: renderDeny was given an object that is not a deny decision/],
      ['an unknown code', { allow: false, status: 401, code: 'nope', headers: {} }, /^decision: renderDeny was given an object that is not a deny decision/],
    ]
    for (const [, value, message] of cases) {
      let thrown: unknown
      try {
        renderDeny(value as DenyDecision)
      } catch (e) {
        thrown = e
      }
      expect(thrown).toBeInstanceOf(TypeError)
      expect((thrown as Error).message).toMatch(message)
      expect((thrown as Error).message).not.toContain(user.key)
    }
    await pending
  })

  it('uses the configured realm in every challenge', async () => {
    const { h } = await setup()
    const auth = h.authorizer({ realm: 'acme', schemes: [schemes.apiKeyHeader(), schemes.bearer(), schemes.basic(), schemes.restApiKey(), schemes.contrast(), schemes.ssapi()] })
    const d = (await auth({ headers: {} })) as DenyDecision
    expect(d.headers['www-authenticate']).toBe(
      'ApiKey realm="acme", header="X-Api-Key", Bearer realm="acme", Basic realm="acme", charset="UTF-8", rest_api_key realm="acme", Contrast realm="acme", header="API-Key", ApiKey realm="acme", header="X-SSAPI-KEY"',
    )
  })

  it('puts RFC 6750 error codes on Bearer challenges', async () => {
    const { h, user } = await setup()
    const auth = h.authorizer({ schemes: [schemes.bearer()] })
    const invalid = (await auth({ headers: { authorization: 'Bearer not-a-key' } })) as DenyDecision
    expect(invalid.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"')
    const malformed = (await auth({ headers: { authorization: 'Bearer a b' } })) as DenyDecision
    expect([malformed.status, malformed.headers['www-authenticate']]).toEqual([400, 'Bearer realm="api", error="invalid_request"'])
    const scope = (await auth({ headers: { authorization: `Bearer ${user.key}` } }, 'targets:manage')) as DenyDecision
    expect([scope.status, scope.headers['www-authenticate']]).toEqual([403, 'Bearer realm="api", error="insufficient_scope"'])
    const missing = (await auth({ headers: {} })) as DenyDecision
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="api"')
  })
})
