/**
 * The role matrix as a principal sees it, on a small matrix whose answers are written out by
 * hand: an Org key holds the highest level any role has on every resource and nothing above it;
 * `principal.permissions` lists exactly one entry per resource; scopes narrow per resource to
 * the lower level. And the random part of keys: no modulo bias.
 */
import { describe, expect, it } from 'vitest'
import { createAuthorizer, defineRoles, KeyManager, MemoryKeyStore, type Principal } from '../../src/index.js'
import { randomBase62 } from '../../src/keys/base62.js'

// Built by each test (not once at load), so each test checks the matrix defineRoles builds for it.
const matrix = () =>
  defineRoles({
    levels: ['read', 'write', 'admin'],
    roles: {
      // Not in level order, so the highest level of a resource is not simply its last mention.
      editor: ['docs:write', 'reports:read', 'drafts:write'],
      owner: ['docs:admin', 'billing:read'],
      viewer: ['docs:read', 'reports:read'],
    },
  })
// Written out by hand: the highest level of each resource over all roles.
const ORG = ['billing:read', 'docs:admin', 'drafts:write', 'reports:read']
const ALL = ['billing', 'docs', 'drafts', 'reports'].flatMap((r) => ['read', 'write', 'admin'].map((l) => `${r}:${l}`))

async function principalOf(issue: Parameters<KeyManager['issue']>[0]): Promise<Principal> {
  const roles = matrix()
  const store = new MemoryKeyStore()
  const manager = new KeyManager(store, { roles })
  const { key } = await manager.issue(issue)
  const d = await createAuthorizer({ store, roles, touchIntervalMs: 0 }).authorize({ method: 'GET', url: '/', headers: { 'x-api-key': key }, remoteAddress: '127.0.0.1' })
  if (!d.allow) throw new Error(`expected an allow, got ${d.reason}`)
  return d.principal
}

describe('the role matrix, through authorize()', () => {
  it('gives an Org key the highest level of every resource and nothing above it', async () => {
    const p = await principalOf({ kind: 'org' })
    expect(p.permissions).toEqual(ORG)
    const held = ALL.filter((perm) => p.can(perm))
    expect(held.sort()).toEqual(['billing:read', 'docs:admin', 'docs:read', 'docs:write', 'drafts:read', 'drafts:write', 'reports:read'])
  })

  it.each([
    ['viewer', ['docs:read', 'reports:read']],
    ['editor', ['docs:write', 'drafts:write', 'reports:read']],
    ['owner', ['billing:read', 'docs:admin']],
  ])('lists exactly the %s role in principal.permissions, one entry per resource, sorted', async (role, perms) => {
    const p = await principalOf({ kind: 'user', owner: 'u', role })
    expect(p.permissions).toEqual(perms)
    for (const perm of ALL) {
      const [r, l] = perm.split(':') as [string, string]
      const mine = perms.find((x) => x.startsWith(`${r}:`))
      const ok = mine !== undefined && ['read', 'write', 'admin'].indexOf(l) <= ['read', 'write', 'admin'].indexOf(mine.split(':')[1]!)
      expect([perm, p.can(perm)]).toEqual([perm, ok])
    }
  })

  it('narrows an Org key by scopes to the lower level per resource, never above the matrix', async () => {
    const p = await principalOf({ kind: 'org', scopes: ['docs:write', 'billing:read'] })
    expect(p.permissions).toEqual(['billing:read', 'docs:write'])
    expect([p.can('docs:admin'), p.can('drafts:read'), p.can('reports:read')]).toEqual([false, false, false])
  })

  it('narrows a user key by scopes without widening its role', async () => {
    const p = await principalOf({ kind: 'user', owner: 'u', role: 'viewer', scopes: ['docs:admin', 'reports:read'] })
    expect(p.permissions).toEqual(['docs:read', 'reports:read'])
  })
})

describe('random base62 characters', () => {
  /** A byte source that hands out `bytes` in order, as many as asked each call. */
  function source(bytes: number[]) {
    let i = 0
    const calls: number[] = []
    return {
      calls,
      next: (n: number) => {
        calls.push(n)
        const out = new Uint8Array(n)
        for (let j = 0; j < n; j++) out[j] = bytes[i++ % bytes.length]!
        return out
      },
    }
  }

  it('drops bytes 248 to 255 (4 · 62 = 248) and maps the rest by remainder', () => {
    const s = source([248, 249, 250, 251, 252, 253, 254, 255, 0, 61, 62, 247, 123, 185, 186, 1])
    // 0 → '0', 61 → 'z', 62 → '0', 247 → 'z', 123 → 'z', 185 → 'z', 186 → '0', 1 → '1'
    expect(randomBase62(8, s.next)).toBe('0z0zzz01')
  })

  it('asks for more bytes until it has enough when a whole batch is rejected', () => {
    const s = source([...Array<number>(12).fill(255), 5, 6, 7, 8])
    expect(randomBase62(4, s.next)).toBe('5678')
    expect(s.calls.length).toBeGreaterThan(1)
  })

  it('gives every character the same chance: byte values 0..247 map 4 to 1 onto the alphabet', () => {
    const counts = new Map<string, number>()
    const all = Array.from({ length: 256 }, (_, b) => b)
    const out = randomBase62(248, source(all).next)
    for (const c of out) counts.set(c, (counts.get(c) ?? 0) + 1)
    expect(counts.size).toBe(62)
    expect([...counts.values()].every((n) => n === 4)).toBe(true)
  })
})
