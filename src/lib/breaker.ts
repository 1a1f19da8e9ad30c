/**
 * A minimal circuit breaker for store calls. After `threshold` consecutive failures, calls fail
 * at once for `cooldownMs` instead of piling up on a dead store; then one probe call is let
 * through, and its outcome closes or reopens the circuit.
 * @module
 */

/** The store circuit breaker's settings (the authorizer's `breaker` option). */
export interface BreakerOptions {
  /**
   * Consecutive failures that open the circuit.
   * @default 5
   * @example 10
   */
  threshold?: number
  /**
   * How long the circuit stays open, in milliseconds.
   * @default 2000
   * @example 5000
   */
  cooldownMs?: number
  /**
   * Told when the circuit changes state: `open` (the threshold was reached), `half_open` (a probe
   * call was let through after the cooldown), `closed` (a call succeeded). For metrics
   * (`keyward/otel` passes one); what it throws is ignored.
   * @default undefined
   * @example (state) => logger.warn({ breaker: state })
   */
  onStateChange?: (state: BreakerState) => void
}

/** The states of a circuit breaker (see {@link BreakerOptions.onStateChange}). */
export type BreakerState = 'closed' | 'open' | 'half_open'

export class Breaker {
  readonly #threshold: number
  readonly #cooldown: number
  #failures = 0
  #openUntil = 0
  #probing = false
  #lastFailure = -Infinity
  /** Failures further apart than this do not add up (see `failure`). */
  readonly #window: number
  readonly #onState: ((state: BreakerState) => void) | undefined
  #state: BreakerState = 'closed'

  /** `windowMs`: failures further apart than this start the count again; the authorizer passes storeTimeoutMs + cooldownMs, so back-to-back timeouts of one client still add up. */
  constructor(options: Required<Omit<BreakerOptions, 'onStateChange'>> & Pick<BreakerOptions, 'onStateChange'>, windowMs: number = options.cooldownMs) {
    this.#threshold = options.threshold
    this.#cooldown = options.cooldownMs
    this.#window = windowMs
    this.#onState = options.onStateChange
  }

  /** Tells the observer of a change of state (only when there is one, and only on a change). */
  #become(state: BreakerState): void {
    if (this.#onState === undefined || this.#state === state) return
    this.#state = state
    try {
      this.#onState(state)
    } catch {
      // Metrics must never change a decision.
    }
  }

  /** Milliseconds the caller must wait, or 0 if a call may go ahead now. */
  blockedFor(now: number): number {
    if (this.#failures < this.#threshold) return 0
    if (now < this.#openUntil) return this.#openUntil - now
    if (this.#probing) return this.#cooldown
    this.#probing = true
    this.#become('half_open')
    return 0
  }

  /** True while the circuit is open (no side effect, unlike `blockedFor`). */
  isOpen(now: number): boolean {
    return this.#failures >= this.#threshold && now < this.#openUntil
  }

  /**
   * A call succeeded. `waited`: the store really answered it (the call was still pending after a
   * microtask turn). An immediate answer (a cache hit, an in-memory store) closes a half-open
   * circuit but does not reset the count: interleaved with a dead store's failures, hits would
   * otherwise keep the circuit closed while misses pile up on the dead store.
   */
  success(waited = true): void {
    if (waited || this.#probing) this.#failures = 0
    this.#probing = false
    if (this.#failures === 0) this.#become('closed')
  }

  failure(now: number): void {
    // Failures add up only while they come within the window of each other: immediate successes
    // (cache hits) no longer reset the count, so stale failures must fade out on their own.
    if (this.#failures < this.#threshold && now - this.#lastFailure > this.#window) this.#failures = 0
    this.#lastFailure = now
    this.#failures++
    this.#probing = false
    if (this.#failures >= this.#threshold) {
      this.#openUntil = now + this.#cooldown
      this.#become('open')
    }
  }

  get cooldownMs(): number {
    return this.#cooldown
  }
}
