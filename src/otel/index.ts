/**
 * `keyward/otel`: OpenTelemetry metrics and traces for an authorizer, through
 * `@opentelemetry/api` only (an optional peer dependency). The application's SDK and exporters
 * do the rest; without an SDK every instrument is the API's no-op, and without `otel()` nothing
 * runs at all.
 * @module
 */
import {
  context, metrics, SpanKind, SpanStatusCode, trace, ValueType,
  type Attributes, type Counter, type Histogram, type Meter, type MeterProvider, type Span, type Tracer, type TracerProvider,
} from '@opentelemetry/api'
import type { BreakerState } from '../lib/breaker.js'
import * as opt from '../lib/options.js'
import { typeError } from '../errors.js'
import type { Authorizer, AuthorizerOptions } from '../authorize.js'
import type { CacheEvent, CacheObserver, CacheSpace } from '../stores/cached.js'
import type { AuthRequest, Decision, DecisionEvent, KeyStore, Need, RateLimiter, RateLimitSpec } from '../types.js'
import * as n from './_names.js'
import { wrapStore } from './_store.js'

/** Options of {@link otel}. */
export interface OtelOptions {
  /**
   * Where metrics go.
   * @default the global provider (`metrics.getMeterProvider()`, set by the SDK)
   * @example new MeterProvider({ readers: [reader] })
   */
  meterProvider?: MeterProvider
  /**
   * Where spans go.
   * @default the global provider (`trace.getTracerProvider()`, set by the SDK)
   * @example new BasicTracerProvider({ spanProcessors: [processor] })
   */
  tracerProvider?: TracerProvider
  /**
   * Add `keyward.key.id` to the `keyward.decisions` series. One series per key: only for a
   * small, known set of keys. Spans always carry the key id.
   * @default false
   * @example true
   */
  keyIdMetrics?: boolean
  /**
   * Add `keyward.tenant` to the `keyward.decisions` series. One series per tenant.
   * @default false
   * @example true
   */
  tenantMetrics?: boolean
}

/** What {@link otel} returns: the pieces to wire into an authorizer and its stores. */
export interface Telemetry {
  /**
   * `options` with this telemetry wired in: `onDecision` (yours still runs, after), the
   * breaker's `onStateChange` (likewise) and the `rateLimiter`, if any, wrapped.
   * @example createAuthorizer(telemetry.options({ store }))
   */
  options(options: AuthorizerOptions): AuthorizerOptions
  /**
   * `authorizer` with a `keyward.authorize` span around each `authorize()`, a child of the active
   * span (the server's). The span carries the decision, status, code, reason and key id when
   * `onDecision` is wired (`options()` does it); else what the decision itself shows.
   * @example const authorizer = telemetry.instrument(createAuthorizer(telemetry.options({ store })))
   */
  instrument(authorizer: Authorizer): Authorizer
  /**
   * A store whose asynchronous calls (`findByHash`, `findGroup`, `findOwner`, `touch`) are client
   * spans and `keyward.store.lookups`. Wrap the store that leaves the process, under the cache:
   * `cachedStore(telemetry.store(postgresStore(pool)), { observer: telemetry.cacheObserver })`.
   * @example telemetry.store(postgresStore(pool))
   */
  store<S extends KeyStore>(store: S): S
  /**
   * A rate limiter whose answers are counted in `keyward.ratelimit.outcomes`.
   * @example telemetry.rateLimiter(tokenBucket({ capacity: 100, refillPerSecond: 10 }))
   */
  rateLimiter<L extends RateLimiter>(limiter: L): L
  /**
   * For `AuthorizerOptions.onDecision`: counts `keyward.decisions`, records
   * `keyward.authorize.duration` and `keyward.store.timeouts`, and fills the span.
   * @example createAuthorizer({ store, onDecision: telemetry.onDecision })
   */
  readonly onDecision: (event: DecisionEvent, decision: Decision) => void
  /**
   * For `cachedStore`'s `observer`: `keyward.cache.lookups`, `.evictions`, `.invalidations`.
   * @example cachedStore(store, { observer: telemetry.cacheObserver })
   */
  readonly cacheObserver: CacheObserver
  /**
   * For the authorizer's `breaker.onStateChange`: the `keyward.store.breaker.state` gauge.
   * @example createAuthorizer({ store, breaker: { onStateChange: telemetry.breakerObserver } })
   */
  readonly breakerObserver: (state: BreakerState) => void
}

const FIELDS = opt.fieldsOf<OtelOptions>({ meterProvider: true, tracerProvider: true, keyIdMetrics: true, tenantMetrics: true })
const STATES: readonly BreakerState[] = ['closed', 'half_open', 'open']

/** The span status and `error.type` of a decision: only a store failure is an error of the call. */
function endSpan(span: Span, d: Decision, e: DecisionEvent | undefined): void {
  const a: Attributes = { [n.A_DECISION]: d.allow ? 'allow' : 'deny', [n.A_STATUS]: d.status }
  if (!d.allow) {
    a[n.A_CODE] = d.code
    a[n.A_REASON] = d.reason
  }
  const keyId = e?.keyId ?? (d.allow ? d.principal.keyId : undefined)
  const tenant = e?.tenant ?? (d.allow ? d.principal.tenant : undefined)
  const scheme = e?.scheme ?? (d.allow ? d.principal.scheme : undefined)
  if (keyId !== undefined) a[n.A_KEY_ID] = keyId
  if (tenant !== undefined) a[n.A_TENANT] = tenant
  if (scheme !== undefined) a[n.A_SCHEME] = scheme
  if (e?.operation !== undefined) a[n.A_OPERATION] = e.operation
  if (e?.detail !== undefined) a[n.A_DETAIL] = e.detail
  span.setAttributes(a)
  if (!d.allow && d.reason === 'store_unavailable') {
    span.setAttribute(n.A_ERROR_TYPE, e?.detail !== undefined && n.FAILURE_DETAILS.has(e.detail) ? e.detail : 'store_unavailable')
    span.setStatus({ code: SpanStatusCode.ERROR })
  }
  span.end()
}

/** The instruments of one `otel()`, and the breaker state its gauge reports. */
interface Instruments {
  readonly decisions: Counter
  readonly duration: Histogram
  readonly lookups: Counter
  readonly timeouts: Counter
  readonly cacheLookups: Counter
  readonly evictions: Counter
  readonly invalidations: Counter
  readonly limits: Counter
  breakerState: BreakerState | undefined
}

/** Creates every instrument on `meter`; the breaker gauge observes `breakerState` of the result. */
function createInstruments(meter: Meter): Instruments {
  const m: Instruments = {
    decisions: meter.createCounter(n.M_DECISIONS, { unit: '{decision}', description: 'Authorization decisions', valueType: ValueType.INT }),
    duration: meter.createHistogram(n.M_DURATION, {
      unit: 's',
      description: 'Duration of authorize()',
      advice: { explicitBucketBoundaries: [...n.DURATION_BUCKETS] },
    }),
    lookups: meter.createCounter(n.M_STORE_LOOKUPS, { unit: '{lookup}', description: 'Store calls made', valueType: ValueType.INT }),
    timeouts: meter.createCounter(n.M_STORE_TIMEOUTS, { unit: '{timeout}', description: 'Store calls given up after storeTimeoutMs', valueType: ValueType.INT }),
    cacheLookups: meter.createCounter(n.M_CACHE_LOOKUPS, { unit: '{lookup}', description: 'cachedStore lookups by result', valueType: ValueType.INT }),
    evictions: meter.createCounter(n.M_CACHE_EVICTIONS, { unit: '{entry}', description: 'cachedStore entries dropped for room', valueType: ValueType.INT }),
    invalidations: meter.createCounter(n.M_CACHE_INVALIDATIONS, { unit: '{invalidation}', description: 'cachedStore invalidations', valueType: ValueType.INT }),
    limits: meter.createCounter(n.M_RATELIMIT, { unit: '{request}', description: 'Rate limiter answers', valueType: ValueType.INT }),
    breakerState: undefined,
  }
  meter
    .createObservableGauge(n.M_BREAKER, { unit: '1', description: 'Store circuit breaker: 1 for the current state', valueType: ValueType.INT })
    .addCallback((r) => {
      if (m.breakerState === undefined) return
      for (const s of STATES) r.observe(s === m.breakerState ? 1 : 0, { [n.A_BREAKER_STATE]: s })
    })
  return m
}

/** Counts one decision and its duration; keeps its event in `events` for the span of `instrument()`. */
function recordDecision(m: Instruments, events: WeakMap<Decision, DecisionEvent>, series: { keyIds: boolean; tenants: boolean }, e: DecisionEvent, d: Decision): void {
  if (d !== null && typeof d === 'object') events.set(d, e)
  const a: Attributes = { [n.A_DECISION]: e.allow ? 'allow' : 'deny' }
  if (e.code !== undefined) a[n.A_CODE] = e.code
  const h: Attributes = { ...a }
  if (e.reason !== undefined) a[n.A_REASON] = e.reason
  if (e.scheme !== undefined) a[n.A_SCHEME] = e.scheme
  if (e.reason === 'store_unavailable' && e.detail !== undefined && n.FAILURE_DETAILS.has(e.detail)) a[n.A_ERROR_TYPE] = e.detail
  if (series.keyIds && e.keyId !== undefined) a[n.A_KEY_ID] = e.keyId
  if (series.tenants && e.tenant !== undefined) a[n.A_TENANT] = e.tenant
  m.decisions.add(1, a)
  m.duration.record(e.durationMs / 1000, h)
  if (e.reason === 'store_unavailable' && e.detail === 'timeout') m.timeouts.add(1)
}

/** `limiter` with every answer counted in `limits` by outcome: allowed, limited or error. */
function countedLimiter<L extends RateLimiter>(limiter: L, limits: Counter): L {
  if (limiter === null || typeof limiter !== 'object' || typeof limiter.consume !== 'function') throw typeError('limiter', 'must implement consume(key)')
  const count = (outcome: string): void => limits.add(1, { [n.A_RATELIMIT_OUTCOME]: outcome })
  const seen = (r: unknown): unknown => {
    const allowed = typeof r === 'object' && r !== null ? (r as { allowed?: unknown }).allowed : undefined
    count(allowed === true ? 'allowed' : allowed === false ? 'limited' : 'error')
    return r
  }
  const consume = (key: string, override?: RateLimitSpec): unknown => {
    let r: unknown
    try {
      r = limiter.consume(key, override)
    } catch (e) {
      count('error')
      throw e
    }
    if (!(r instanceof Promise)) return seen(r)
    return r.then(seen, (e: unknown) => {
      count('error')
      throw e
    })
  }
  return new Proxy(limiter, {
    get: (target, prop) => {
      if (prop === 'consume') return consume
      const v: unknown = Reflect.get(target, prop, target)
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
}

/** `authorizer` with a span around each `authorize()`, filled from the decision's event in `events`. */
function instrumented(authorizer: Authorizer, tracer: Tracer, events: WeakMap<Decision, DecisionEvent>): Authorizer {
  if (authorizer === null || typeof authorizer !== 'object' || typeof authorizer.authorize !== 'function') {
    throw typeError('authorizer', 'must come from createAuthorizer()')
  }
  const inner = authorizer
  const authorize = (request: AuthRequest, need?: Need | Parameters<Authorizer['authorize']>[1]): Promise<Decision> => {
    const parent = context.active()
    const span = tracer.startSpan(n.SPAN_AUTHORIZE, { kind: SpanKind.INTERNAL }, parent)
    let p: Promise<Decision>
    try {
      p = context.with(trace.setSpan(parent, span), () => inner.authorize(request, need))
    } catch (e) {
      p = Promise.reject(e)
    }
    return p.then(
      (d) => {
        endSpan(span, d, events.get(d))
        return d
      },
      (e: unknown) => {
        // Misuse (an invalid need, a throwing tenant function): the class name only, never a message.
        const name = e instanceof Error ? e.name : 'Error'
        span.setAttribute(n.A_ERROR_TYPE, /^[A-Za-z]\w{0,63}$/.test(name) ? name : 'Error')
        span.setStatus({ code: SpanStatusCode.ERROR })
        span.end()
        throw e
      },
    )
  }
  return Object.freeze({
    authorize,
    describe: inner.describe.bind(inner),
    need: inner.need.bind(inner),
    roles: inner.roles,
    realm: inner.realm,
    schemes: inner.schemes,
    close: () => inner.close(),
  })
}

/** `options` with the telemetry's hooks composed before the application's own, and its limiter counted. */
function wired(options: AuthorizerOptions, t: Pick<Telemetry, 'onDecision' | 'breakerObserver' | 'rateLimiter'>): AuthorizerOptions {
  const base = opt.object(options, 'options') as unknown as AuthorizerOptions
  // Validated here as createAuthorizer would: once composed, a bad value could not be seen.
  const mine = opt.func(base.onDecision, 'onDecision')
  const b = base.breaker
  const settable = b === undefined || (b !== null && typeof b === 'object')
  const theirs = settable && b !== undefined ? opt.func(b.onStateChange, 'breaker.onStateChange') : undefined
  return {
    ...base,
    onDecision: mine === undefined ? t.onDecision : (e, d) => {
      t.onDecision(e, d)
      mine(e, d)
    },
    ...(!settable ? {} : {
      breaker: {
        ...(b ?? {}),
        onStateChange: theirs === undefined ? t.breakerObserver : (s: BreakerState) => {
          t.breakerObserver(s)
          theirs(s)
        },
      },
    }),
    ...(base.rateLimiter === undefined ? {} : { rateLimiter: t.rateLimiter(base.rateLimiter) }),
  }
}

/**
 * Creates the OpenTelemetry instruments of keyward and the pieces that feed them. Nothing is
 * recorded until they are wired in; an authorizer built without them pays nothing.
 *
 * Metrics: `keyward.decisions` (`{decision}`, by `keyward.decision`, `keyward.code`,
 * `keyward.reason`, `keyward.scheme`, `error.type`), `keyward.authorize.duration` (`s`),
 * `keyward.store.lookups`, `keyward.store.timeouts`, `keyward.store.breaker.state`,
 * `keyward.cache.lookups`, `keyward.cache.evictions`, `keyward.cache.invalidations`,
 * `keyward.ratelimit.outcomes`. Spans: `keyward.authorize`, `keyward.store.<operation>`. No key,
 * hash, pepper or query string is ever an attribute.
 *
 * @example
 * ```ts
 * import { createAuthorizer, cachedStore } from 'keyward'
 * import { otel } from 'keyward/otel'
 *
 * const telemetry = otel() // the global providers your OpenTelemetry SDK registered
 * const store = cachedStore(telemetry.store(postgresStore(pool)), { observer: telemetry.cacheObserver })
 * const authorizer = telemetry.instrument(createAuthorizer(telemetry.options({ store })))
 * ```
 */
export function otel(options: OtelOptions = {}): Telemetry {
  const o = opt.options(options, 'options', FIELDS)
  const meter = (o.meterProvider ?? metrics.getMeterProvider()).getMeter(n.METER)
  const tracer = (o.tracerProvider ?? trace.getTracerProvider()).getTracer(n.TRACER)
  const series = { keyIds: opt.boolean(o.keyIdMetrics, 'keyIdMetrics'), tenants: opt.boolean(o.tenantMetrics, 'tenantMetrics') }
  const m = createInstruments(meter)
  /** The event of each decision, for `instrument()` to find by the decision it resolves to. */
  const events = new WeakMap<Decision, DecisionEvent>()

  const onDecision = (e: DecisionEvent, d: Decision): void => recordDecision(m, events, series, e, d)
  const cacheObserver: CacheObserver = (event: CacheEvent, space: CacheSpace) => {
    if (event === 'eviction') m.evictions.add(1, { [n.A_CACHE_SPACE]: space })
    else if (event === 'invalidation') m.invalidations.add(1, { [n.A_CACHE_SPACE]: space })
    else m.cacheLookups.add(1, { [n.A_CACHE_SPACE]: space, [n.A_CACHE_RESULT]: event })
  }
  const breakerObserver = (state: BreakerState): void => {
    m.breakerState = state
  }
  const rateLimiter = <L extends RateLimiter>(limiter: L): L => countedLimiter(limiter, m.limits)

  return Object.freeze({
    options: (options: AuthorizerOptions) => wired(options, { onDecision, breakerObserver, rateLimiter }),
    instrument: (authorizer: Authorizer) => instrumented(authorizer, tracer, events),
    store: <S extends KeyStore>(store: S): S => {
      if (store === null || typeof store !== 'object' || typeof store.findByHash !== 'function') throw typeError('store', 'is required and must implement findByHash(hash)')
      return wrapStore(store, { tracer, lookups: m.lookups })
    },
    rateLimiter,
    onDecision,
    cacheObserver,
    breakerObserver,
  })
}
