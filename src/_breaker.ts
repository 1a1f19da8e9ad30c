/**
 * A minimal circuit breaker for store calls. After `threshold` consecutive failures, calls fail
 * at once for `cooldownMs` instead of piling up on a dead store; then one probe call is let
 * through, and its outcome closes or reopens the circuit.
 * @module
 */

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
}

export class Breaker {
  readonly #threshold: number
  readonly #cooldown: number
  #failures = 0
  #openUntil = 0
  #probing = false

  constructor(options: Required<BreakerOptions>) {
    this.#threshold = options.threshold
    this.#cooldown = options.cooldownMs
  }

  /** Milliseconds the caller must wait, or 0 if a call may go ahead now. */
  blockedFor(now: number): number {
    if (this.#failures < this.#threshold) return 0
    if (now < this.#openUntil) return this.#openUntil - now
    if (this.#probing) return this.#cooldown
    this.#probing = true
    return 0
  }

  /** True while the circuit is open (no side effect, unlike `blockedFor`). */
  isOpen(now: number): boolean {
    return this.#failures >= this.#threshold && now < this.#openUntil
  }

  success(): void {
    this.#failures = 0
    this.#probing = false
  }

  failure(now: number): void {
    this.#failures++
    this.#probing = false
    if (this.#failures >= this.#threshold) this.#openUntil = now + this.#cooldown
  }

  get cooldownMs(): number {
    return this.#cooldown
  }
}
