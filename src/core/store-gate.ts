/**
 * The store gate: every store lookup of a request goes through {@link StoreGate.lookup}, under
 * the circuit breaker, the store's synchronous peek, and one timeout mechanism
 * ({@link settleWithin}) that the rate limiter uses too. It never rejects and never throws: a
 * store that throws, rejects, answers late or is behind an open circuit gives a {@link Failed}
 * value, which the request turns into a 503. Fail closed.
 * @module
 */
import { Breaker } from '../lib/breaker.js'
import type { BreakerConfig } from './options.js'
import type { KeyGroup, KeyRecord, KeyStore, OwnerRecord } from '../types.js'

/** A store failure, as a value: how long the client should wait and why (for logs). */
export interface Failed {
  readonly retryAfterSec: number
  readonly detail: string
}
/**
 * Every store failure made, known by identity: telling a failure from an answer must not touch the
 * answer (a revoked Proxy throws even on `in`).
 */
const FAILURES = new WeakSet<object>()
export function failure(retryAfterSec: number, detail: string): Failed {
  const f: Failed = { retryAfterSec, detail }
  FAILURES.add(f)
  return f
}
/**
 * True if `v` is a failure made by this module (by identity; `v` itself is not read). A WeakSet
 * answers `false` for any value that is not an object, so nothing else needs checking.
 */
export const failed = (v: unknown): v is Failed => FAILURES.has(v as object)

/** What a call bounded by {@link settleWithin} rejects with when it ran out of time. */
export const TIMEOUT = new Error('timeout')
const RESOLVED = Promise.resolve()

/**
 * The one timeout mechanism. Calls `done(ok, value, waited)` exactly once: with the promise's
 * outcome, or `(false, TIMEOUT, true)` after `ms`. A promise that is already settled (a store
 * answering from memory) is reported before a timer is armed: a timer per call cost more than
 * such a lookup, so only a call still pending one microtask later gets one (`waited` is then true).
 */
export function settleWithin<T>(p: Promise<T>, ms: number, done: (ok: boolean, value: unknown, waited: boolean) => void): void {
  let over = false
  let waited = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const end = (ok: boolean, value: unknown): void => {
    if (over) return
    over = true
    clearTimeout(timer)
    done(ok, value, waited)
  }
  p.then((v) => end(true, v), (e: unknown) => end(false, e))
  RESOLVED.then(() => {
    if (over) return
    waited = true
    timer = setTimeout(() => end(false, TIMEOUT), ms)
  })
}

/** `settleWithin` as a promise: the value, or rejects with what `p` rejected with or `TIMEOUT`. */
export function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => settleWithin(p, ms, (ok, v) => (ok ? resolve(v as T) : reject(v))))
}

export const KEY = 0
export const GROUP = 1
export const OWNER = 2
export type LookupKind = typeof KEY | typeof GROUP | typeof OWNER
/** A lookup's answer: the value (`undefined` for none) or the store failure. */
export type Answer<T> = T | undefined | Failed
/** An immediate answer's `breaker.success(false)`, not yet reported (see {@link StoreGate.lookup}). */
export interface Owed {
  paid: boolean
}
/** The part of a request the gate reads and writes: its start time and what it owes the breaker. */
export interface GateRequest {
  readonly at: number
  owed: Owed | undefined
}

/** The store of one authorizer, behind its breaker and timeout. */
export class StoreGate {
  readonly breaker: Breaker | undefined
  /**
   * Set by a store failure, cleared when the store really answers a call (which resets the
   * breaker's count). While it is clear the breaker has counted no failure, so it cannot be
   * half-open and an immediate answer has nothing to report to it.
   */
  #troubled = false

  constructor(
    readonly store: KeyStore,
    readonly timeoutMs: number,
    breaker: BreakerConfig | undefined,
    private readonly now: () => number,
  ) {
    this.breaker = breaker === undefined ? undefined : new Breaker(breaker, timeoutMs + breaker.cooldownMs)
  }

  /** Records a store failure with the breaker and returns it as a value. */
  failure(e: unknown): Failed {
    this.#troubled = true
    const b = this.breaker
    b?.failure(this.now())
    const detail = e === TIMEOUT ? 'timeout' : 'store_error'
    return failure(b?.isOpen(this.now()) ? Math.ceil(b.cooldownMs / 1000) : 1, detail)
  }

  /**
   * One store lookup, as every check that needs the store makes it: an open circuit answers at
   * once (503) without touching the store; then the store's synchronous peek (`peekByHash`,
   * `peekGroup`, `peekOwner`), if it has one and it knows; otherwise the asynchronous call under
   * `storeTimeoutMs`. An answer known now is returned as is, so a request whose lookups are all in
   * memory is decided without a promise: same checks, same order.
   *
   * The breaker hears of an immediate answer exactly when it would without the peek. There, the
   * answer's `success(false)` runs one microtask after the call, and the request's next step one
   * microtask after that; meanwhile a half-open circuit is still busy with the probe, for other
   * requests started in the same tick and for the other key of a Contrast pair (looked up
   * alongside). So, once a store call has failed (before that the breaker has no count to reset
   * and nothing is owed), a peeked answer is reported one microtask later, and a group or owner
   * lookup that follows it waits for that report, as it would have.
   */
  lookup<T extends KeyRecord | KeyGroup | OwnerRecord>(req: GateRequest, kind: LookupKind, name: string): Answer<T> | Promise<Answer<T>> {
    const breaker = this.breaker
    if (breaker) {
      const o = req.owed
      if (o !== undefined && kind !== KEY) {
        if (!o.paid) return RESOLVED.then(() => this.lookup<T>(req, kind, name))
        req.owed = undefined
      }
      const wait = breaker.blockedFor(req.at)
      if (wait > 0) return failure(Math.max(1, Math.ceil(wait / 1000)), 'circuit_open')
    }
    const store = this.store
    let known: unknown
    try {
      // Optional calls keep `this` (a subclass's override check reads it); a peek that is not a
      // function throws here and fails closed.
      known = kind === KEY ? store.peekByHash?.(name) : kind === GROUP ? store.peekGroup?.(name) : store.peekOwner?.(name)
      // A peek is synchronous by contract; a promise here would escape the timeout.
      // Stryker disable next-line StringLiteral: equivalent, a failure keeps only whether it was a timeout, never the message
      if (known instanceof Promise) return this.failure(new TypeError('a store peek returned a promise'))
    } catch (e) {
      return this.failure(e)
    }
    if (known === undefined) return this.#timed(kind, name) as Promise<Answer<T>>
    if (this.#troubled && breaker && req.owed === undefined) {
      const owed: Owed = { paid: false }
      req.owed = owed
      // Only this callback pays a debt, and it runs once.
      RESOLVED.then(() => {
        owed.paid = true
        breaker.success(false)
      })
    }
    return known === null ? undefined : (known as T)
  }

  /** The asynchronous store call, bounded by `storeTimeoutMs`; never rejects. */
  #timed(kind: LookupKind, name: string): Promise<unknown> {
    const store = this.store
    let p: Promise<unknown>
    try {
      p = Promise.resolve(kind === KEY ? store.findByHash(name) : kind === GROUP ? store.findGroup!(name) : store.findOwner!(name))
    } catch (e) {
      return Promise.resolve(this.failure(e))
    }
    return new Promise<unknown>((resolve) =>
      settleWithin(p, this.timeoutMs, (ok, v, waited) => {
        if (!ok) return resolve(this.failure(v))
        this.breaker?.success(waited)
        if (waited) this.#troubled = false
        resolve(v)
      }),
    )
  }
}
