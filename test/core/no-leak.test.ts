/**
 * Runs every scheme through every kind of decision and every management error, keeps everything
 * a client or a log could see (decision events, rendered denies, principals, thrown errors), and
 * checks that no issued key, no stored hash and no pepper appears anywhere in it.
 */
import { describe, expect, it } from 'vitest'
import { cachedStore, createAuthorizer, hashKey, schemes, tokenBucket, type KeyStore } from '../../src/index.js'
import { otel } from '../../src/otel/index.js'
import { basicOf, harness, PEPPER } from '../_support/core.js'
import { sdk } from '../otel/_sdk.js'

describe('secrets never leak', () => {
  it('keeps every key, hash and the pepper out of events, responses, principals and errors', async () => {
    const h = harness()
    const g = await h.manager.createGroup({ name: 'g', tenant: 't' })
    const org = await h.issue({ kind: 'tenant', tenant: 't' })
    const user = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Write', tenant: 't', group: g.id, allowedIps: ['127.0.0.0/8'], grants: ['op'] })
    const admin = await h.issue({ kind: 'org', tenant: 't' })
    const expiring = await h.issue({ kind: 'user', owner: 'bob', role: 'Read Only', tenant: 't', expiresAt: h.clock.now() + 10 })
    const rotated = await h.manager.rotate(admin.id, { graceMs: 5 })
    h.issued.push(rotated.key)
    const all = [schemes.apiKeyHeader(), schemes.ssapi(), schemes.restApiKey(), schemes.contrast(), schemes.bearer(), schemes.basic()]
    const variants = [
      h.authorizer({ schemes: all }),
      h.authorizer({ schemes: [schemes.contrast()], tenant: () => 't', explicitGrants: true }),
      h.authorizer({ schemes: all, requireTls: true }),
      h.authorizer({ schemes: all, tenant: () => 'other', exposeReasons: true }),
      h.authorizer({ schemes: all, rateLimiter: tokenBucket({ capacity: 1, refillPerSecond: 0.001 }) }),
      h.authorizer({ schemes: all, store: { findByHash: () => Promise.reject(new Error('db down')) } satisfies KeyStore }),
    ]
    const keys = [user.key, admin.key, rotated.key, expiring.key, org.key]
    for (const auth of variants) {
      for (const k of keys) {
        const headerSets = [
          { 'x-api-key': k },
          { 'x-ssapi-key': k },
          { authorization: `rest_api_key=${k}` },
          { authorization: `Bearer ${k}` },
          { authorization: basicOf(k, '') },
          { authorization: basicOf('api', k) },
          { 'api-key': org.key, authorization: Buffer.from(`ana:${k}`).toString('base64') },
          { 'x-api-key': `${k} ${k}` },
          { 'x-api-key': [k, k] },
          { 'x-api-key': k, authorization: `Bearer ${k}` },
          { 'x-api-key': k.slice(0, -1) + 'x' },
        ]
        for (const headers of headerSets) {
          for (const need of [undefined, 'scans:read', 'global-blackouts:manage', { operation: 'op' }, { operation: 'other' }]) {
            await auth({ url: `/x/${'y'}?key=ignored`, headers, remoteAddress: '127.0.0.1' }, need as never)
          }
        }
      }
      h.clock.advance(20)
    }
    // Management errors that involve keys.
    for (const attempt of [
      () => h.manager.import({ key: user.key, kind: 'org' }),
      () => h.manager.import({ key: `${user.key.slice(0, -1)}Q`, kind: 'org' }),
      () => h.manager.import({ key: user.key, kind: 'user' } as never),
      () => h.manager.update(user.id, { description: user.key.replace(/./, '\u0000') }),
    ]) {
      await attempt().then(
        () => h.transcript.push('unexpected success'),
        (e: Error) => h.transcript.push(String(e), e.stack ?? ''),
      )
    }

    expect(h.events.length).toBeGreaterThan(1500)
    expect(new Set(h.events.map((e) => e.reason ?? 'allow')).size).toBeGreaterThanOrEqual(12)
    const text = h.transcript.join('\n')
    const secrets = [...h.issued, ...h.issued.map((k) => hashKey(k, PEPPER)), PEPPER]
    for (const s of secrets) expect(text.includes(s), `leaked ${s.slice(0, 6)}…`).toBe(false)
  })

  it('keeps every key, hash and the pepper out of every OpenTelemetry attribute, metric and span', async () => {
    const h = harness()
    const app = sdk()
    try {
      const telemetry = otel({ meterProvider: app.meterProvider, tracerProvider: app.tracerProvider, keyIdMetrics: true, tenantMetrics: true })
      const g = await h.manager.createGroup({ name: 'g', tenant: 't' })
      const org = await h.issue({ kind: 'tenant', tenant: 't' })
      const user = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Write', tenant: 't', group: g.id, allowedIps: ['127.0.0.0/8'], grants: ['op'] })
      const admin = await h.issue({ kind: 'org', tenant: 't' })
      const rotated = await h.manager.rotate(admin.id, { graceMs: 5 })
      h.issued.push(rotated.key)
      const all = [schemes.apiKeyHeader(), schemes.ssapi(), schemes.restApiKey(), schemes.contrast(), schemes.bearer(), schemes.basic()]
      const store = cachedStore(telemetry.store(h.store), { observer: telemetry.cacheObserver, maxEntries: 4 })
      const down: KeyStore = telemetry.store({ findByHash: () => Promise.reject(new Error(`db down ${user.key}`)) })
      const base = { pepper: PEPPER, now: h.clock.now, touchIntervalMs: 0, schemes: all }
      const variants = [
        { ...base, store },
        { ...base, store, exposeReasons: true, rateLimiter: tokenBucket({ capacity: 1, refillPerSecond: 0.001 }) },
        { ...base, store: down, breaker: { threshold: 2, cooldownMs: 1000 } },
      ].map((o) => telemetry.instrument(createAuthorizer(telemetry.options(o))))
      for (const auth of variants) {
        for (const k of [user.key, admin.key, rotated.key, org.key]) {
          const headerSets = [
            { 'x-api-key': k },
            { authorization: `rest_api_key=${k}` },
            { authorization: `Bearer ${k}` },
            { authorization: basicOf(k, '') },
            { 'api-key': org.key, authorization: Buffer.from(`ana:${k}`).toString('base64') },
            { 'x-api-key': [k, k] },
            { 'x-api-key': k.slice(0, -1) + 'x' },
          ]
          for (const headers of headerSets) {
            for (const need of [undefined, 'scans:read', 'global-blackouts:manage']) {
              await auth.authorize({ method: 'GET', url: `/x?key=${k}`, headers, remoteAddress: '127.0.0.1' }, need)
            }
          }
        }
      }
      store.invalidate({ type: 'key', id: user.id, hashes: [hashKey(user.key, PEPPER)] })
      const text = await app.everything()
      // What is recorded is there (the test would see a leak): key ids, tenants, every decision.
      expect(app.spans.getFinishedSpans().filter((x) => x.name === 'keyward.authorize')).toHaveLength(3 * 4 * 7 * 3)
      expect(text.includes(user.id)).toBe(true)
      for (const name of ['keyward.decisions', 'keyward.cache.evictions', 'keyward.cache.invalidations', 'keyward.store.lookups', 'keyward.store.breaker.state', 'keyward.ratelimit.outcomes']) {
        expect(text.includes(name), name).toBe(true)
      }
      const secrets = [...h.issued, ...h.issued.map((k) => hashKey(k, PEPPER)), PEPPER]
      for (const s of secrets) expect(text.includes(s), `leaked ${s.slice(0, 6)}…`).toBe(false)
    } finally {
      await app.close()
    }
  })
})
