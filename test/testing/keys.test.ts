/**
 * keyward/testing keys: deterministic, in the `test` environment with a valid checksum, only in
 * the kit's own store, hashed with the kit's pepper, and never a production pepper or a real key.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createAuthorizer, hashKey, KeyManager, MemoryKeyStore, parseKey } from '../../src/index.js'
import { createTestAuthority, TEST_PEPPER } from '../../src/testing/index.js'
import { decide, outcome } from './_support.js'

afterEach(() => {
  vi.unstubAllEnvs()
})

async function keysOf(seed: string, n: number): Promise<string[]> {
  const kit = createTestAuthority({ seed })
  const keys: string[] = []
  for (let i = 0; i < n; i++) keys.push(await kit.issue())
  return keys
}

describe('test keys', () => {
  it('are in the test environment, with the checksum parseKey accepts', async () => {
    const kit = createTestAuthority()
    const key = await kit.issue()
    expect(key).toMatch(/^kw_test_[0-9A-Za-z]{38}$/)
    expect(parseKey(key)).toEqual({ valid: true, prefix: 'kw', environment: 'test' })
  })

  it('carry the configured prefix, and the environment stays test', async () => {
    const kit = createTestAuthority({ prefix: 'acme' })
    expect(parseKey(await kit.issue())).toEqual({ valid: true, prefix: 'acme', environment: 'test' })
  })

  it('are the same for the same seed and differ between seeds and within a kit', async () => {
    const a = await keysOf('orders', 5)
    expect(await keysOf('orders', 5)).toEqual(a)
    expect(new Set(a).size).toBe(5)
    const b = await keysOf('billing', 5)
    expect(b.filter((k) => a.includes(k))).toEqual([])
  })

  it('are pinned for a given seed, so a run can be reproduced key for key', async () => {
    // The derivation is documented (SHA-256 in counter mode over "keyward/testing\0<seed>\0<n>\0<block>",
    // base62 by rejection sampling, CRC-32 checksum); these values were computed independently of
    // this code, with Python's hashlib and zlib. If they change, every user's reproducible keys
    // change: treat it as a breaking change.
    expect(await keysOf('keyward', 2)).toEqual([
      'kw_test_E4J1s0jaKZFV78bV4TvGtr61UTa71VCx2LOcTr',
      'kw_test_cvlG4eqFy072yHltJFZC9NQd2PsP4Sj8319Dmk',
    ])
  })

  it('differ between two kits created without a seed', async () => {
    const a = createTestAuthority()
    const b = createTestAuthority()
    const key = await a.issue({ role: 'Read Only' })
    expect(await b.issue({ role: 'Read Only' })).not.toBe(key)
    // And a key of one kit is unknown to the other.
    expect(outcome(await decide(b, a.headersFor(key)))).toBe('deny:unknown_key')
  })

  it('only work where the kit put them: another store, or the kit pepper missing, knows nothing of them', async () => {
    const kit = createTestAuthority()
    const key = await kit.issue({ role: 'Read Only' })
    expect(outcome(await decide(kit, kit.headersFor(key)))).toBe('allow:api-key')
    const stored = await kit.store.findByHash(hashKey(key, TEST_PEPPER))
    expect(stored?.id).toBeDefined()
    // A production-style authorizer, with its own store and pepper, has never heard of the key.
    const prodPepper = 'prod-pepper-0123456789abcdef-0123456789abcdef'
    const store = new MemoryKeyStore()
    await new KeyManager(store, { pepper: prodPepper }).issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const prod = createAuthorizer({ store, pepper: prodPepper, touchIntervalMs: 0 })
    expect(outcome(await prod.authorize({ method: 'GET', headers: { 'x-api-key': key } }))).toBe('deny:unknown_key')
    // Even the kit's own records do not match when hashed with another pepper.
    expect(await kit.store.findByHash(hashKey(key, prodPepper))).toBeUndefined()
    expect(await kit.store.findByHash(hashKey(key))).toBeUndefined()
  })
})

describe('what the kit refuses', () => {
  it('runs nowhere near production: NODE_ENV=production throws', () => {
    vi.stubEnv('NODE_ENV', 'production')
    expect(() => createTestAuthority()).toThrow(/NODE_ENV=production/)
  })

  it('never reads a pepper from the environment', async () => {
    vi.stubEnv('KEYWARD_PEPPER', 'a-production-pepper-0123456789abcdef-0123')
    const kit = createTestAuthority()
    const key = await kit.issue()
    expect(await kit.store.findByHash(hashKey(key, TEST_PEPPER))).toBeDefined()
    expect(await kit.store.findByHash(hashKey(key, 'a-production-pepper-0123456789abcdef-0123'))).toBeUndefined()
  })

  it('refuses a pepper equal to an environment variable named like a pepper, naming the variable only', () => {
    const secret = 'a-production-pepper-0123456789abcdef-0123'
    vi.stubEnv('KEYWARD_PEPPER', secret)
    vi.stubEnv('BILLING_API_PEPPER', 'another-production-pepper-0123456789abcdef')
    let error: unknown
    try {
      createTestAuthority({ pepper: secret })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(RangeError)
    expect((error as Error).message).toMatch(/^pepper: equals the environment variable KEYWARD_PEPPER/)
    expect((error as Error).message).not.toContain(secret)
    expect(() => createTestAuthority({ pepper: new TextEncoder().encode('another-production-pepper-0123456789abcdef') })).toThrow(/BILLING_API_PEPPER/)
  })

  it('accepts a pepper of its own, and hashes with it', async () => {
    vi.stubEnv('KEYWARD_PEPPER', 'a-production-pepper-0123456789abcdef-0123')
    const pepper = 'my-test-pepper-0123456789abcdef-0123456'
    const kit = createTestAuthority({ pepper })
    const key = await kit.issue({ role: 'Read Only' })
    expect(await kit.store.findByHash(hashKey(key, pepper))).toBeDefined()
    expect(outcome(await decide(kit, kit.headersFor(key)))).toBe('allow:api-key')
  })

  it('refuses a short pepper, naming the field', () => {
    expect(() => createTestAuthority({ pepper: 'short' })).toThrow(/^pepper: must be at least 32 bytes/)
  })

  it('refuses to import a real key (another environment, or none) through its manager', async () => {
    const kit = createTestAuthority()
    for (const environment of ['live', undefined]) {
      const body = `kw_${environment === undefined ? '' : `${environment}_`}`
      const real = new KeyManager(new MemoryKeyStore(), environment === undefined ? {} : { environment })
      const { key } = await real.issue({ kind: 'org' })
      expect(key.startsWith(body)).toBe(true)
      await expect(kit.manager.import({ key, kind: 'org' })).rejects.toThrow(/^key: the testing kit only holds test keys/)
    }
    expect(await kit.manager.list()).toEqual([])
  })

  it('still imports legacy keys (an Ivanti Reference ID) and test keys made elsewhere', async () => {
    const kit = createTestAuthority()
    const uuid = '3f0e8a52-6a1c-4c57-9d5e-2a8c1f0b7e44'
    await kit.manager.import({ key: uuid, kind: 'user', owner: 'svc', role: 'Read Only' })
    expect(outcome(await decide(kit, kit.headersFor(uuid, 'rest-api-key')))).toBe('allow:rest-api-key')
    const other = await createTestAuthority({ seed: 'elsewhere' }).issue()
    await kit.manager.import({ key: other, kind: 'user', owner: 'svc', role: 'Read Only' })
    expect(outcome(await decide(kit, kit.headersFor(other)))).toBe('allow:api-key')
  })

  it('does not let issue() import a key of the caller', async () => {
    const kit = createTestAuthority()
    const spec = { key: 'kw_test_whatever', role: 'Read Only' } as Parameters<typeof kit.issue>[0]
    await expect(kit.issue(spec)).rejects.toThrow(/^spec: unknown field "key"/)
  })

  it('issues test keys from its manager too, and rotates to test keys', async () => {
    const kit = createTestAuthority()
    const { key, record } = await kit.manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    expect(parseKey(key)?.environment).toBe('test')
    const { key: rotated } = await kit.manager.rotate(record.id, { graceMs: 0 })
    expect(parseKey(rotated)).toEqual({ valid: true, prefix: 'kw', environment: 'test' })
  })
})

describe('rotate', () => {
  it('replaces the key with the next deterministic one; the old one works for the grace period on the kit clock', async () => {
    const kit = createTestAuthority({ seed: 'rotation' })
    const old = await kit.issue({ role: 'Read Only' })
    const next = await kit.rotate(old, { graceMs: 60_000 })
    const again = createTestAuthority({ seed: 'rotation' })
    await again.issue({ role: 'Read Only' })
    expect(await again.issue()).toBe(next)
    expect(parseKey(next)).toEqual({ valid: true, prefix: 'kw', environment: 'test' })
    expect(outcome(await decide(kit, kit.headersFor(old)))).toBe('allow:api-key')
    expect(outcome(await decide(kit, kit.headersFor(next)))).toBe('allow:api-key')
    kit.clock.advance(59_999)
    expect(outcome(await decide(kit, kit.headersFor(old)))).toBe('allow:api-key')
    kit.clock.advance(1)
    expect(outcome(await decide(kit, kit.headersFor(old)))).toBe('deny:key_rotated')
    expect(outcome(await decide(kit, kit.headersFor(next)))).toBe('allow:api-key')
  })

  it('takes the record id as well as the key, and refuses what it does not know', async () => {
    const kit = createTestAuthority()
    const { record } = await kit.issueRecord({ role: 'Read Only' })
    const next = await kit.rotate(record.id, { graceMs: 0 })
    expect(outcome(await decide(kit, kit.headersFor(next)))).toBe('allow:api-key')
    await expect(kit.rotate('kw_test_unknown', { graceMs: 0 })).rejects.toMatchObject({ code: 'KEYWARD_NOT_FOUND' })
    await expect(kit.rotate(next, { graceMs: -1 })).rejects.toThrow(/^graceMs: must not be negative/)
  })
})
