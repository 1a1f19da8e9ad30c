/**
 * The store wrapper of `keyward/otel`: a span and a lookup count for each asynchronous call of a
 * store (the calls that may leave the process), everything else forwarded untouched.
 * @module
 */
import { context, SpanKind, SpanStatusCode, trace, type Counter, type Tracer } from '@opentelemetry/api'
import { A_ERROR_TYPE, A_STORE_OP, A_STORE_RESULT } from './_names.js'

/** The asynchronous lookups that are traced, and their `keyward.store.operation` names. */
const TRACED: Readonly<Record<string, string>> = {
  findByHash: 'find_by_hash',
  findGroup: 'find_group',
  findOwner: 'find_owner',
  touch: 'touch',
}

/** What the wrapper records into. */
export interface StoreInstruments {
  readonly tracer: Tracer
  readonly lookups: Counter
}

/** One traced call: a client span, child of the active span, and a count by result. */
function traced(fn: (...args: unknown[]) => unknown, target: object, op: string, inst: StoreInstruments): (...args: unknown[]) => unknown {
  const lookup = op !== 'touch'
  return (...args: unknown[]) => {
    // Names, hashes and ids are never attributes: only the operation and what it found.
    const span = inst.tracer.startSpan(`keyward.store.${op}`, { kind: SpanKind.CLIENT, attributes: { [A_STORE_OP]: op } })
    const done = (result: string, error?: string): void => {
      if (lookup) inst.lookups.add(1, { [A_STORE_OP]: op, [A_STORE_RESULT]: result })
      if (error !== undefined) {
        span.setAttribute(A_ERROR_TYPE, error)
        span.setStatus({ code: SpanStatusCode.ERROR })
      } else if (lookup) {
        span.setAttribute(A_STORE_RESULT, result)
      }
      span.end()
    }
    let p: unknown
    try {
      p = context.with(trace.setSpan(context.active(), span), () => fn.apply(target, args))
    } catch (e) {
      done('error', errorType(e))
      throw e
    }
    return Promise.resolve(p).then(
      (v) => {
        done(v === undefined || v === null ? 'not_found' : 'found')
        return v
      },
      (e: unknown) => {
        done('error', errorType(e))
        throw e
      },
    )
  }
}

/** A low-cardinality name for what a store threw: its class name, never its message. */
function errorType(e: unknown): string {
  const name = typeof e === 'object' && e !== null ? (e as { name?: unknown }).name : undefined
  return typeof name === 'string' && /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name) ? name : '_OTHER'
}

/**
 * `store` with its asynchronous calls traced. A proxy, so every other method (peeks, writes,
 * `invalidate`) is the store's own, called on the store itself (private fields keep working).
 */
export function wrapStore<S extends object>(store: S, inst: StoreInstruments): S {
  const made = new Map<PropertyKey, unknown>()
  return new Proxy(store, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target)
      if (typeof value !== 'function') return value
      const cached = made.get(prop)
      if (cached !== undefined && (cached as { origin?: unknown }).origin === value) return cached
      const op = typeof prop === 'string' && Object.hasOwn(TRACED, prop) ? TRACED[prop] : undefined
      const fn = value as (...args: unknown[]) => unknown
      const out = op === undefined ? fn.bind(target) : traced(fn, target, op, inst)
      ;(out as { origin?: unknown }).origin = value
      made.set(prop, out)
      return out
    },
  })
}
