/**
 * Metric, span and attribute names of `keyward/otel`, in the style of the OpenTelemetry semantic
 * conventions: a `keyward.` namespace, dot-separated, units in UCUM (`s`, `{decision}`).
 * @module
 */

export const METER = 'keyward'
export const TRACER = 'keyward'

export const M_DECISIONS = 'keyward.decisions'
export const M_DURATION = 'keyward.authorize.duration'
export const M_STORE_LOOKUPS = 'keyward.store.lookups'
export const M_STORE_TIMEOUTS = 'keyward.store.timeouts'
export const M_BREAKER = 'keyward.store.breaker.state'
export const M_CACHE_LOOKUPS = 'keyward.cache.lookups'
export const M_CACHE_EVICTIONS = 'keyward.cache.evictions'
export const M_CACHE_INVALIDATIONS = 'keyward.cache.invalidations'
export const M_RATELIMIT = 'keyward.ratelimit.outcomes'

export const SPAN_AUTHORIZE = 'keyward.authorize'

export const A_DECISION = 'keyward.decision'
export const A_STATUS = 'keyward.status'
export const A_CODE = 'keyward.code'
export const A_REASON = 'keyward.reason'
export const A_DETAIL = 'keyward.detail'
export const A_SCHEME = 'keyward.scheme'
export const A_KEY_ID = 'keyward.key.id'
export const A_TENANT = 'keyward.tenant'
export const A_OPERATION = 'keyward.operation'
export const A_ERROR_TYPE = 'error.type'
export const A_STORE_OP = 'keyward.store.operation'
export const A_STORE_RESULT = 'keyward.store.result'
export const A_BREAKER_STATE = 'keyward.breaker.state'
export const A_CACHE_SPACE = 'keyward.cache.space'
export const A_CACHE_RESULT = 'keyward.cache.result'
export const A_RATELIMIT_OUTCOME = 'keyward.ratelimit.outcome'

/**
 * The store-failure details a decision event may carry (`DecisionEvent.detail` on a 503): a
 * closed vocabulary, so it can be a metric attribute (`error.type`) without growing cardinality.
 */
export const FAILURE_DETAILS: ReadonlySet<string> = new Set([
  'timeout',
  'store_error',
  'circuit_open',
  'rate_limiter',
  'rate_limiter_timeout',
  'rate_limiter_malformed',
  'jwks',
])

/**
 * Bucket boundaries of the duration histogram, in seconds: an allowed request decided from memory
 * takes a few microseconds, one that waits for a remote store milliseconds.
 */
export const DURATION_BUCKETS: readonly number[] = [
  0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
]
