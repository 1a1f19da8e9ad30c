/**
 * createTestAuthority: option validation, issue() defaults, the clock (expiry, rate-limit refill),
 * the authorizer options passed through, and the recorded decisions.
 */
import { describe, expect, it } from 'vitest'
import { defineRoles, schemes, type DecisionEvent } from '../../src/index.js'
import { createTestAuthority, TEST_EPOCH, type TestAuthorityOptions } from '../../src/testing/index.js'
import { decide, outcome } from './_support.js'

describe('options', () => {
  it.each<[string, TestAuthorityOptions | null, RegExp, ErrorConstructor]>([
    ['not an object', null, /^options: must be an object/, TypeError],
    ['an unknown field', { store: {} } as TestAuthorityOptions, /^options: unknown field "store"/, RangeError],
    ['a bad seed', { seed: '' }, /^seed: must be 1-256 characters/, RangeError],
    ['a bad prefix', { prefix: 'Kw' }, /^prefix: must be 1-16/, RangeError],
    ['a bad start', { start: Number.NaN }, /^start: must be a valid instant/, RangeError],
    ['an unknown scheme name', { schemes: ['api-key', 'cookie'] } as TestAuthorityOptions, /^schemes\[1\]: unknown scheme "cookie"/, RangeError],
    ['a scheme that is not one', { schemes: [{}] } as unknown as TestAuthorityOptions, /^schemes\[0\]: is not a scheme/, TypeError],
    ['a scheme twice', { schemes: ['bearer', schemes.bearer()] }, /^schemes\[1\]: scheme "bearer" is configured twice/, RangeError],
    ['a bad CIDR', { trustProxy: ['10.0.0.1/8'] }, /^trustProxy/, RangeError],
    ['both rate limits', { rateLimit: { capacity: 1, refillPerSecond: 1 }, rateLimiter: { consume: () => ({ allowed: true, limit: 1, remaining: 0, resetSec: 0 }) } }, /^rateLimit: pass rateLimit or rateLimiter/, RangeError],
    ['a bad rate limit', { rateLimit: { capacity: 0, refillPerSecond: 1 } }, /^rateLimit\.capacity/, RangeError],
    ['a bad onDecision', { onDecision: 'log' } as unknown as TestAuthorityOptions, /^onDecision: must be a function/, TypeError],
    ['an unknown default', { defaults: { kind: 'org' } } as TestAuthorityOptions, /^defaults: unknown field "kind"/, RangeError],
    ['a role not in the matrix', { defaults: { role: 'Owner' } }, /^defaults\.role: unknown role "Owner"/, RangeError],
    ['a default role of another matrix', { roles: defineRoles({ levels: ['read'], roles: { viewer: ['reports:read'] } }), defaults: { role: 'Read Only' } }, /^defaults\.role/, RangeError],
  ])('refuses %s, naming the field', (_label, options, message, type) => {
    const create = () => createTestAuthority(options as TestAuthorityOptions)
    expect(create).toThrow(type)
    expect(create).toThrow(message)
  })

  it('never changes the caller\'s options', async () => {
    const options = Object.freeze({
      schemes: Object.freeze(['api-key', 'jwt'] as const),
      defaults: Object.freeze({ role: 'Read Only', tenant: 'acme' }),
      rateLimit: Object.freeze({ capacity: 5, refillPerSecond: 1 }),
      pepper: new TextEncoder().encode('my-test-pepper-0123456789abcdef-0123456'),
    })
    const pepperBefore = [...options.pepper]
    const kit = createTestAuthority(options)
    const key = await kit.issue()
    expect(outcome(await decide(kit, kit.headersFor(key), 'scans:read'))).toBe('allow:api-key')
    options.pepper.fill(0) // changing it afterwards must not change the kit
    expect(outcome(await decide(kit, kit.headersFor(key), 'scans:read'))).toBe('allow:api-key')
    expect(pepperBefore).not.toEqual([...options.pepper])
  })
})

describe('issue', () => {
  it('issues a user key for the default owner, with no permission unless a role is given', async () => {
    const kit = createTestAuthority()
    const { key, record } = await kit.issueRecord()
    expect(record).toMatchObject({ kind: 'user', owner: 'tester@example.test', active: true, createdAt: TEST_EPOCH })
    expect(record.role).toBeUndefined()
    const d = await decide(kit, kit.headersFor(key))
    expect(d.allow && d.principal.permissions).toEqual([])
    expect(outcome(await decide(kit, kit.headersFor(key), 'scans:read'))).toBe('deny:insufficient_permission')
  })

  it('fills owner, role and tenant from defaults, which a spec overrides', async () => {
    const kit = createTestAuthority({ defaults: { owner: 'ana@acme.test', role: 'Read Write', tenant: 'acme' } })
    expect((await kit.issueRecord()).record).toMatchObject({ kind: 'user', owner: 'ana@acme.test', role: 'Read Write', tenant: 'acme' })
    expect((await kit.issueRecord({ owner: 'bob@acme.test', role: 'Read Only', tenant: 'globex' })).record).toMatchObject({
      owner: 'bob@acme.test',
      role: 'Read Only',
      tenant: 'globex',
    })
    // Owner and role are for user keys; the tenant applies to every kind.
    const org = (await kit.issueRecord({ kind: 'org' })).record
    expect(org).toMatchObject({ kind: 'org', tenant: 'acme' })
    expect(org.owner).toBeUndefined()
    expect(org.role).toBeUndefined()
    expect((await kit.issueRecord({ kind: 'tenant' })).record).toMatchObject({ kind: 'tenant', tenant: 'acme' })
  })

  it('returns the key alone from issue, and refuses what KeyManager refuses', async () => {
    const kit = createTestAuthority()
    expect(typeof (await kit.issue({ kind: 'org' }))).toBe('string')
    await expect(kit.issue({ role: 'Owner' })).rejects.toThrow(/^role: unknown role "Owner"/)
    await expect(kit.issue({ kind: 'tenant' })).rejects.toThrow(/^tenant: is required for tenant keys/)
    await expect(kit.issue({ rol: 'Read Only' } as Parameters<typeof kit.issue>[0])).rejects.toThrow(/^options: unknown field "rol"/)
    await expect(kit.issue(null as unknown as Parameters<typeof kit.issue>[0])).rejects.toThrow(/^spec: must be an object/)
  })
})

describe('clock', () => {
  it('starts at the documented instant and moves only when told', () => {
    const kit = createTestAuthority()
    expect(kit.clock.now()).toBe(TEST_EPOCH)
    expect(new Date(TEST_EPOCH).toISOString()).toBe('2030-01-01T00:00:00.000Z')
    expect(kit.clock.advance(1500)).toBe(TEST_EPOCH + 1500)
    expect(kit.clock.now()).toBe(TEST_EPOCH + 1500)
    expect(kit.clock.set(new Date('2031-02-03T04:05:06Z'))).toBe(Date.UTC(2031, 1, 3, 4, 5, 6))
    expect(createTestAuthority({ start: 42 }).clock.now()).toBe(42)
  })

  it('refuses to go backwards with advance, or to a non-instant', () => {
    const { clock } = createTestAuthority()
    expect(() => clock.advance(-1)).toThrow(/^ms: must be a finite number ≥ 0/)
    expect(() => clock.advance(Number.POSITIVE_INFINITY)).toThrow(RangeError)
    expect(() => clock.advance('1' as unknown as number)).toThrow(TypeError)
    expect(() => clock.set(new Date('nope'))).toThrow(/^at: must be a valid instant/)
    expect(clock.now()).toBe(TEST_EPOCH)
  })

  it('drives expiry: a key is allowed until its expiresAt and denied from then on', async () => {
    const kit = createTestAuthority({ exposeReasons: true })
    const key = await kit.issue({ role: 'Read Only', expiresAt: kit.clock.now() + 60_000 })
    expect(outcome(await decide(kit, kit.headersFor(key), 'scans:read'))).toBe('allow:api-key')
    kit.clock.advance(59_999)
    expect(outcome(await decide(kit, kit.headersFor(key), 'scans:read'))).toBe('allow:api-key')
    kit.clock.advance(1)
    const d = await decide(kit, kit.headersFor(key), 'scans:read')
    expect(d).toMatchObject({ allow: false, status: 401, code: 'key_expired', reason: 'key_expired' })
  })

  it('is the manager\'s clock: an expiry before the kit\'s now is refused', async () => {
    const kit = createTestAuthority()
    // Wall time is before 2030: a Date.now()-based expiry is in the kit's past.
    await expect(kit.issue({ expiresAt: Date.now() + 60_000 })).rejects.toThrow(/^expiresAt: is in the past/)
  })

  it('drives the rateLimit bucket: refills happen when the test advances the clock', async () => {
    const kit = createTestAuthority({ rateLimit: { capacity: 2, refillPerSecond: 1 } })
    const key = await kit.issue({ role: 'Read Only' })
    const h = kit.headersFor(key)
    expect(outcome(await decide(kit, h))).toBe('allow:api-key')
    expect(outcome(await decide(kit, h))).toBe('allow:api-key')
    const limited = await decide(kit, h)
    expect(limited).toMatchObject({ allow: false, status: 429, headers: { 'retry-after': '1' } })
    kit.clock.advance(999)
    expect(outcome(await decide(kit, h))).toBe('deny:rate_limited')
    kit.clock.advance(1)
    expect(outcome(await decide(kit, h))).toBe('allow:api-key')
  })
})

describe('authorizer options', () => {
  it('passes tenant, explicitGrants and requireTls to the real authorizer', async () => {
    const kit = createTestAuthority({
      tenant: (req) => req.url?.split('/')[2],
      explicitGrants: true,
      requireTls: true,
      schemes: ['ssapi'],
    })
    const key = await kit.issue({ role: 'Read Only', tenant: 'acme', grants: ['getScans'] })
    const h = kit.headersFor(key)
    const need = { permission: 'scans:read', operation: 'getScans' }
    expect(outcome(await decide(kit, h, need, { url: '/t/acme/scans', secure: true }))).toBe('allow:ssapi')
    expect(outcome(await decide(kit, h, need, { url: '/t/acme/scans', secure: false }))).toBe('deny:insecure_transport')
    expect(outcome(await decide(kit, h, need, { url: '/t/globex/scans', secure: true }))).toBe('deny:tenant_mismatch')
    expect(outcome(await decide(kit, h, { permission: 'scans:read', operation: 'deleteScan' }, { url: '/t/acme/scans', secure: true }))).toBe(
      'deny:operation_not_granted',
    )
  })
})

describe('decisions', () => {
  it('records every decision in order, with reasons, and clears them', async () => {
    const kit = createTestAuthority()
    const key = await kit.issue({ role: 'Read Only', allowedIps: ['203.0.113.0/24'] })
    expect(kit.decisions()).toEqual([])
    expect(kit.lastDecision()).toBeUndefined()
    await decide(kit, kit.headersFor(key), 'scans:read', { url: '/scans?page=2' })
    await decide(kit, kit.headersFor(key), 'scans:read', { remoteAddress: '203.0.113.9' })
    await decide(kit, {}, 'scans:read')
    expect(kit.decisions().map((e) => [e.allow, e.reason, e.path, e.clientIp])).toEqual([
      [false, 'ip_not_allowed', '/scans', '127.0.0.1'],
      [true, undefined, '/scans', '203.0.113.9'],
      [false, 'missing_credentials', '/scans', '127.0.0.1'],
    ])
    expect(kit.lastDecision()?.reason).toBe('missing_credentials')
    kit.clearDecisions()
    expect(kit.decisions()).toEqual([])
  })

  it('hands out snapshots that later decisions do not change, and that cannot be changed', async () => {
    const kit = createTestAuthority()
    await decide(kit, {})
    const before = kit.decisions()
    await decide(kit, {})
    expect(before).toHaveLength(1)
    expect(Object.isFrozen(before) && Object.isFrozen(before[0])).toBe(true)
  })

  it('also calls the onDecision option', async () => {
    const seen: DecisionEvent[] = []
    const kit = createTestAuthority({ onDecision: (e) => seen.push(e) })
    await decide(kit, {})
    expect(seen.map((e) => e.reason)).toEqual(['missing_credentials'])
    expect(kit.decisions()).toHaveLength(1)
  })

  it('never hold a key, a hash or a query string, whatever the scheme', async () => {
    const kit = createTestAuthority({ defaults: { role: 'Read Only', tenant: 'acme' } })
    const secrets: string[] = []
    const key = await kit.issue()
    const org = await kit.issue({ kind: 'tenant' })
    // An org key for the token: a service key (user key of tenant acme) is never minted one.
    const solo = await kit.issue({ kind: 'org', tenant: 'acme' })
    secrets.push(key, org, solo)
    for (const scheme of ['api-key', 'ssapi', 'rest-api-key', 'contrast', 'bearer', 'basic'] as const) {
      await decide(kit, kit.headersFor(key, scheme), 'scans:manage', { url: `/scans?key=${key}` })
    }
    const token = await kit.headersFor(solo, 'jwt')
    await decide(kit, token, 'scans:read')
    const records = await kit.manager.list()
    const text = JSON.stringify(kit.decisions())
    expect(kit.decisions()).toHaveLength(7)
    for (const s of [...secrets, ...records.map((r) => r.hash), token.authorization!.slice(7), '?key=']) expect(text).not.toContain(s)
  })
})

describe('store', () => {
  it('keeps MemoryKeyStore\'s compare-and-swap: a write based on a stale read is refused and changes nothing', async () => {
    const kit = createTestAuthority({ defaults: { role: 'Read Only', tenant: 'acme' } })
    await kit.issue({ kind: 'tenant' })
    const { key, record } = await kit.issueRecord({ owner: 'ana@acme.test' })
    await kit.manager.deactivate(record.id)
    const stale = kit.store.updateKey({ ...record, owner: 'mallory@acme.test' }, record)
    await expect(stale).rejects.toMatchObject({ code: 'KEYWARD_CONFLICT' })
    expect(await kit.manager.get(record.id)).toMatchObject({ active: false, owner: 'ana@acme.test' })
    // headersFor's synchronous view followed the successful write only.
    expect(kit.headersFor(key, 'contrast').authorization).toBe(Buffer.from(`ana@acme.test:${key}`).toString('base64'))
  })
})

describe('close', () => {
  it('writes pending last-used times when touchIntervalMs is set', async () => {
    const kit = createTestAuthority({ touchIntervalMs: 60_000 })
    const { key, record } = await kit.issueRecord({ role: 'Read Only' })
    kit.clock.advance(5000)
    await decide(kit, kit.headersFor(key))
    expect((await kit.manager.get(record.id))?.lastUsedAt).toBeUndefined()
    await kit.close()
    expect((await kit.manager.get(record.id))?.lastUsedAt).toBe(TEST_EPOCH + 5000)
  })
})
