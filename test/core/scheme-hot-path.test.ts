/**
 * What the credential schemes repeat per request when several read the same `Authorization`
 * field, counted (never timed): how often the field is split into scheme word and rest, and how
 * often a token's compact JWS shape is scanned. The grammar module is wrapped so every call from
 * the schemes is counted; decisions are checked too, so a cut can never change an answer.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { createAuthorizer, KeyManager, MemoryKeyStore, type Authorizer } from '../../src/index.js'
import { schemes } from '../../src/schemes/index.js'
import type { Scheme } from '../../src/schemes/scheme.js'
import { AUD, claims, hs256, ISS, SECRET } from '../jwt/_helpers.js'

const counts = vi.hoisted(() => ({ split: 0, shape: 0 }))
vi.mock('../../src/schemes/_grammar.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../src/schemes/_grammar.js')>()
  return {
    ...m,
    splitAuthorization: (raw: string) => {
      counts.split++
      return m.splitAuthorization(raw)
    },
    compactShape: (s: string) => {
      counts.shape++
      return m.compactShape(s)
    },
  }
})

const SCHEMES: Record<string, () => Scheme> = {
  bearer: () => schemes.bearer(),
  jwt: () => schemes.jwt({ key: SECRET, algorithms: ['HS256'], issuer: ISS, audience: AUD }),
  basic: () => schemes.basic(),
  contrast: () => schemes.contrast(),
  apiKey: () => schemes.apiKeyHeader(),
}

/** Every set of two or more schemes of SCHEMES that can be configured together. */
function combinations(): string[][] {
  const names = Object.keys(SCHEMES)
  const out: string[][] = []
  for (let mask = 0; mask < 1 << names.length; mask++) {
    const set = names.filter((_, i) => (mask & (1 << i)) !== 0)
    if (set.length >= 2) out.push(set)
  }
  return out
}

let store: MemoryKeyStore
let key = ''
let tenantKey = ''
beforeAll(async () => {
  store = new MemoryKeyStore()
  const manager = new KeyManager(store)
  key = (await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })).key
  tenantKey = (await manager.issue({ kind: 'tenant', tenant: 'acme' })).key
})

function authorizerOf(set: readonly string[]): Authorizer {
  return createAuthorizer({ store, schemes: set.map((n) => SCHEMES[n]!()), touchIntervalMs: 0 })
}

/** The Authorization values a client sends, one per shape the schemes tell apart. */
function requests(): Record<string, Record<string, string>> {
  const token = hs256(claims())
  return {
    'a Bearer key': { authorization: `Bearer ${key}` },
    'a Bearer JWT': { authorization: `Bearer ${token}` },
    'Basic key:': { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` },
    'another scheme': { authorization: `Digest username="ana"` },
    'a bare token68 with API-Key': { authorization: Buffer.from(`ana:${key}`).toString('base64'), 'api-key': tenantKey },
    'no Authorization': { 'x-api-key': key },
  }
}

describe('schemes reading the same Authorization field', () => {
  it.each(combinations().map((set) => [set.join(' + '), set] as const))('split it at most once per request: %s', async (_name, set) => {
    const a = authorizerOf(set)
    for (const [what, headers] of Object.entries(requests())) {
      counts.split = 0
      const d = await a.authorize({ method: 'GET', url: '/scans', headers, remoteAddress: '127.0.0.1' })
      expect({ what, splits: counts.split }).toEqual({ what, splits: Math.min(counts.split, 1) })
      // Still a decision, never a throw.
      expect(typeof d.allow).toBe('boolean')
    }
  })

  it('scans a repeated JWT for its compact shape once, not again in verification', async () => {
    const a = authorizerOf(['bearer', 'jwt'])
    const headers = { authorization: `Bearer ${hs256(claims())}` }
    const first = await a.authorize({ method: 'GET', url: '/scans', headers, remoteAddress: '127.0.0.1' })
    expect(first.allow).toBe(true)
    for (let i = 0; i < 3; i++) {
      counts.shape = 0
      const again = await a.authorize({ method: 'GET', url: '/scans', headers, remoteAddress: '127.0.0.1' })
      expect(again.allow && again.principal).toEqual(first.allow && first.principal)
      expect(counts.shape).toBe(1)
    }
  })

  it('still refuses a token that is not a compact JWS when verify is called on its own', async () => {
    const jwt = SCHEMES.jwt!()
    counts.shape = 0
    for (const token of ['abc', 'a.b', 'a..c', 'a.b.c.d', `${hs256(claims())}=`]) {
      expect(await jwt.verify!(token, { now: Date.now() })).toEqual({ ok: false, reason: 'invalid_token', detail: 'malformed' })
    }
    expect(counts.shape).toBe(5)
  })
})
