/**
 * `keyward/otel` through the SDK's in-memory exporters: a scripted sequence of requests (allowed,
 * each deny code, a store outage with a timeout and an open circuit, cache hits and an
 * invalidation) and the exact metric series and spans it leaves.
 */
import { trace } from '@opentelemetry/api'
import { afterEach, describe, expect, it } from 'vitest'
import { cachedStore, createAuthorizer, generateKey, KeyManager, MemoryKeyStore, tokenBucket, type AuthRequest, type KeyStore, type Need } from '../../src/index.js'
import { otel } from '../../src/otel/index.js'
import { sdk } from './_sdk.js'

let app: ReturnType<typeof sdk> | undefined
afterEach(async () => {
  await app?.close()
  app = undefined
})

async function scene() {
  app = sdk()
  const telemetry = otel({ meterProvider: app.meterProvider, tracerProvider: app.tracerProvider })
  const memory = new MemoryKeyStore()
  const manager = new KeyManager(memory)
  const clock = { now: 1_000_000 }
  const remote = { down: false, hang: false }
  // A store across the network: answers only asynchronously, and can fail or hang.
  const network: KeyStore = {
    findByHash: (hash) => (remote.hang ? new Promise(() => {}) : remote.down ? Promise.reject(new Error('ECONNREFUSED')) : memory.findByHash(hash)),
  }
  const cache = cachedStore(telemetry.store(network), { observer: telemetry.cacheObserver, now: () => clock.now })
  const common = { store: cache, now: () => clock.now, touchIntervalMs: 0, storeTimeoutMs: 20 }
  const authorizer = telemetry.instrument(
    createAuthorizer(telemetry.options({ ...common, requireTls: true, rateLimiter: tokenBucket({ capacity: 100, refillPerSecond: 1, now: () => clock.now }), breaker: { threshold: 2, cooldownMs: 1000 } })),
  )
  const granting = telemetry.instrument(createAuthorizer(telemetry.options({ ...common, explicitGrants: true })))
  const a = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
  const b = await manager.issue({ kind: 'user', owner: 'bo', role: 'Read Write', allowedIps: ['192.0.2.0/24'] })
  const c = await manager.issue({ kind: 'user', owner: 'cy', role: 'Read Write', rateLimit: { capacity: 1, refillPerSecond: 0.001 } })
  const d = await manager.issue({ kind: 'user', owner: 'di', role: 'Read Write' })
  const e = await manager.issue({ kind: 'user', owner: 'ed', role: 'Read Write' })
  const req = (headers: AuthRequest['headers'], secure = true): AuthRequest => ({ method: 'GET', url: '/scans?token=q', headers, remoteAddress: '10.0.0.1', secure })
  const unknown = generateKey()
  return { telemetry, manager, clock, remote, cache, authorizer, granting, a, b, c, d, e, req, unknown, app }
}

type Scene = Awaited<ReturnType<typeof scene>>

/** The scripted sequence; returns each decision as `status code`. */
async function script(s: Scene): Promise<string[]> {
  const out: string[] = []
  const run = async (auth: Scene['authorizer'], r: AuthRequest, need?: Need) => {
    const d = await auth.authorize(r, need)
    out.push(d.allow ? 'allow' : `${d.status} ${d.code}`)
  }
  const { authorizer: az, req } = s
  await run(az, req({ 'x-api-key': s.a.key }), 'scans:read') // allowed (cache miss)
  await run(az, req({ 'x-api-key': s.a.key }), 'scans:read') // allowed (cache hit)
  await run(az, req({}), 'scans:read') // missing_credentials
  await run(az, req({ 'x-api-key': [s.a.key, s.a.key] }), 'scans:read') // invalid_request
  await run(az, req({ 'x-api-key': s.unknown }), 'scans:read') // invalid_credentials (miss)
  await run(az, req({ 'x-api-key': s.unknown }), 'scans:read') // invalid_credentials (negative hit)
  await run(az, req({ 'x-api-key': s.a.key }, false), 'scans:read') // insecure_transport
  await run(az, req({ 'x-api-key': s.b.key }), 'scans:read') // ip_not_allowed
  await run(az, req({ 'x-api-key': s.a.key }), 'global-blackouts:manage') // insufficient_permission
  await run(s.granting, req({ 'x-api-key': s.a.key }), { permission: 'scans:read', operation: 'deleteScan' }) // operation_not_granted
  await run(az, req({ 'x-api-key': s.c.key }), 'scans:read') // allowed, the bucket is now empty
  await run(az, req({ 'x-api-key': s.c.key }), 'scans:read') // rate_limited
  await s.manager.deactivate(s.c.record.id)
  s.cache.invalidate({ type: 'key', id: s.c.record.id, hashes: [] })
  await run(az, req({ 'x-api-key': s.c.key }), 'scans:read') // invalid_credentials (key_disabled)
  s.remote.down = true
  await run(az, req({ 'x-api-key': s.d.key }), 'scans:read') // service_unavailable (store_error)
  s.remote.down = false
  s.remote.hang = true
  await run(az, req({ 'x-api-key': s.e.key }), 'scans:read') // service_unavailable (timeout): the circuit opens
  await run(az, req({ 'x-api-key': s.a.key }), 'scans:read') // service_unavailable (circuit_open)
  return out
}

describe('keyward/otel', () => {
  it('records the exact decision, store, cache, breaker and rate-limit series of a scripted sequence', async () => {
    const s = await scene()
    expect(await script(s)).toEqual([
      'allow',
      'allow',
      '401 missing_credentials',
      '400 invalid_request',
      '401 invalid_credentials',
      '401 invalid_credentials',
      '403 insecure_transport',
      '403 ip_not_allowed',
      '403 insufficient_permission',
      '403 operation_not_granted',
      'allow',
      '429 rate_limited',
      '401 invalid_credentials',
      '503 service_unavailable',
      '503 service_unavailable',
      '503 service_unavailable',
    ])
    const open = await s.app.series()
    expect(open.filter((l) => l.startsWith('keyward.store.breaker'))).toEqual([
      'keyward.store.breaker.state{keyward.breaker.state=closed} 0',
      'keyward.store.breaker.state{keyward.breaker.state=half_open} 0',
      'keyward.store.breaker.state{keyward.breaker.state=open} 1',
    ])
    // After the cooldown the store answers again: the probe closes the circuit.
    s.remote.hang = false
    s.clock.now += 1000
    expect((await s.authorizer.authorize(s.req({ 'x-api-key': s.a.key }), 'scans:read')).allow).toBe(true)
    expect(await s.app.series()).toEqual(EXPECTED_SERIES)
  })

  it('makes each authorize() a child span of the server span, with store calls under it', async () => {
    const s = await scene()
    const server = s.app.tracerProvider.getTracer('http')
    await server.startActiveSpan('GET /scans', async (span) => {
      await s.authorizer.authorize(s.req({ 'x-api-key': s.a.key }), 'scans:read')
      await s.authorizer.authorize(s.req({ 'x-api-key': s.b.key }), 'scans:read')
      span.end()
    })
    const spans = s.app.spans.getFinishedSpans()
    const byName = (name: string) => spans.filter((x) => x.name === name)
    const [root] = byName('GET /scans')
    const auth = byName('keyward.authorize')
    const store = byName('keyward.store.find_by_hash')
    expect(auth).toHaveLength(2)
    expect(store).toHaveLength(2)
    for (const x of auth) expect(x.parentSpanContext?.spanId).toBe(root!.spanContext().spanId)
    expect(store.map((x) => x.parentSpanContext?.spanId)).toEqual(auth.map((x) => x.spanContext().spanId))
    expect(auth.map((x) => x.attributes)).toEqual([
      { 'keyward.decision': 'allow', 'keyward.status': 200, 'keyward.key.id': s.a.record.id, 'keyward.scheme': 'api-key' },
      { 'keyward.decision': 'deny', 'keyward.status': 403, 'keyward.code': 'ip_not_allowed', 'keyward.reason': 'ip_not_allowed', 'keyward.key.id': s.b.record.id, 'keyward.scheme': 'api-key' },
    ])
    expect(store.map((x) => x.attributes)).toEqual([
      { 'keyward.store.operation': 'find_by_hash', 'keyward.store.result': 'found' },
      { 'keyward.store.operation': 'find_by_hash', 'keyward.store.result': 'found' },
    ])
    expect(trace.getActiveSpan()).toBeUndefined()
  })

  it('gives every scripted decision its span: decision, status, code, reason, key id, and an error only for a store failure', async () => {
    const s = await scene()
    await script(s)
    const rows = s.app.spans
      .getFinishedSpans()
      .filter((x) => x.name === 'keyward.authorize')
      .map((x) => {
        const at = x.attributes
        const who = at['keyward.key.id'] === undefined ? '-' : [s.a, s.b, s.c, s.d, s.e].find((k) => k.record.id === at['keyward.key.id'])!.record.owner
        return [at['keyward.status'], at['keyward.reason'] ?? 'allow', who, at['error.type'], x.status.code].filter((v) => v !== undefined).join(' ')
      })
    expect(rows).toEqual([
      '200 allow ana 0',
      '200 allow ana 0',
      '401 missing_credentials - 0',
      '400 malformed_credentials - 0',
      '401 unknown_key - 0',
      '401 unknown_key - 0',
      '403 insecure_transport - 0',
      '403 ip_not_allowed bo 0',
      '403 insufficient_permission ana 0',
      '403 operation_not_granted ana 0',
      '200 allow cy 0',
      '429 rate_limited cy 0',
      '401 key_disabled cy 0',
      '503 store_unavailable - store_error 2',
      '503 store_unavailable - timeout 2',
      '503 store_unavailable - circuit_open 2',
    ])
  })

  it('refuses unknown options and bad values, naming the field', () => {
    expect(() => otel({ keyIdMetric: true } as never)).toThrow(/unknown field "keyIdMetric" \(did you mean "keyIdMetrics"\?\)/)
    expect(() => otel({ tenantMetrics: 'yes' } as never)).toThrow(/tenantMetrics/)
    const t = otel()
    expect(() => t.options({ store: new MemoryKeyStore(), onDecision: 'log' as never })).toThrow(/onDecision/)
    expect(() => t.options({ store: new MemoryKeyStore(), breaker: { onStateChange: 1 as never } })).toThrow(/breaker\.onStateChange/)
    expect(() => cachedStore(new MemoryKeyStore(), { observer: {} as never })).toThrow(/observer/)
    expect(() => t.store({} as never)).toThrow(TypeError)
  })
})

const EXPECTED_SERIES: string[] = [
  'keyward.authorize.duration{keyward.code=insecure_transport,keyward.decision=deny} count=1',
  'keyward.authorize.duration{keyward.code=insufficient_permission,keyward.decision=deny} count=1',
  'keyward.authorize.duration{keyward.code=invalid_credentials,keyward.decision=deny} count=3',
  'keyward.authorize.duration{keyward.code=invalid_request,keyward.decision=deny} count=1',
  'keyward.authorize.duration{keyward.code=ip_not_allowed,keyward.decision=deny} count=1',
  'keyward.authorize.duration{keyward.code=missing_credentials,keyward.decision=deny} count=1',
  'keyward.authorize.duration{keyward.code=operation_not_granted,keyward.decision=deny} count=1',
  'keyward.authorize.duration{keyward.code=rate_limited,keyward.decision=deny} count=1',
  'keyward.authorize.duration{keyward.code=service_unavailable,keyward.decision=deny} count=3',
  'keyward.authorize.duration{keyward.decision=allow} count=4',
  'keyward.cache.invalidations{keyward.cache.space=key} 1',
  // Hits: ana's 2nd, 3rd, 4th request and the probe, cy's 2nd; the open circuit refused before the cache.
  'keyward.cache.lookups{keyward.cache.result=hit,keyward.cache.space=key} 5',
  // Misses: ana, the unknown key, bo, cy, cy after the invalidation, di, ed.
  'keyward.cache.lookups{keyward.cache.result=miss,keyward.cache.space=key} 7',
  'keyward.cache.lookups{keyward.cache.result=negative_hit,keyward.cache.space=key} 1',
  'keyward.decisions{error.type=circuit_open,keyward.code=service_unavailable,keyward.decision=deny,keyward.reason=store_unavailable,keyward.scheme=api-key} 1',
  'keyward.decisions{error.type=store_error,keyward.code=service_unavailable,keyward.decision=deny,keyward.reason=store_unavailable,keyward.scheme=api-key} 1',
  'keyward.decisions{error.type=timeout,keyward.code=service_unavailable,keyward.decision=deny,keyward.reason=store_unavailable,keyward.scheme=api-key} 1',
  'keyward.decisions{keyward.code=insecure_transport,keyward.decision=deny,keyward.reason=insecure_transport} 1',
  'keyward.decisions{keyward.code=insufficient_permission,keyward.decision=deny,keyward.reason=insufficient_permission,keyward.scheme=api-key} 1',
  'keyward.decisions{keyward.code=invalid_credentials,keyward.decision=deny,keyward.reason=key_disabled,keyward.scheme=api-key} 1',
  'keyward.decisions{keyward.code=invalid_credentials,keyward.decision=deny,keyward.reason=unknown_key,keyward.scheme=api-key} 2',
  'keyward.decisions{keyward.code=invalid_request,keyward.decision=deny,keyward.reason=malformed_credentials,keyward.scheme=api-key} 1',
  'keyward.decisions{keyward.code=ip_not_allowed,keyward.decision=deny,keyward.reason=ip_not_allowed,keyward.scheme=api-key} 1',
  'keyward.decisions{keyward.code=missing_credentials,keyward.decision=deny,keyward.reason=missing_credentials} 1',
  'keyward.decisions{keyward.code=operation_not_granted,keyward.decision=deny,keyward.reason=operation_not_granted,keyward.scheme=api-key} 1',
  'keyward.decisions{keyward.code=rate_limited,keyward.decision=deny,keyward.reason=rate_limited,keyward.scheme=api-key} 1',
  'keyward.decisions{keyward.decision=allow,keyward.scheme=api-key} 4',
  'keyward.ratelimit.outcomes{keyward.ratelimit.outcome=allowed} 4',
  'keyward.ratelimit.outcomes{keyward.ratelimit.outcome=limited} 1',
  'keyward.store.breaker.state{keyward.breaker.state=closed} 1',
  'keyward.store.breaker.state{keyward.breaker.state=half_open} 0',
  'keyward.store.breaker.state{keyward.breaker.state=open} 0',
  // Calls that reached the network store: the hanging one never settled (it is the timeout below).
  'keyward.store.lookups{keyward.store.operation=find_by_hash,keyward.store.result=error} 1',
  'keyward.store.lookups{keyward.store.operation=find_by_hash,keyward.store.result=found} 4',
  'keyward.store.lookups{keyward.store.operation=find_by_hash,keyward.store.result=not_found} 1',
  'keyward.store.timeouts{} 1',
]
