/**
 * Last-used tracking, debounced and off the request path: the authorizer records uses in memory
 * and a timer writes them in batches. A failing `touch` is ignored; it can never change a decision.
 * @module
 */

const MAX_PENDING = 100_000

export class Toucher {
  readonly #touch: (id: string, at: number) => Promise<void>
  readonly #interval: number
  readonly #pending = new Map<string, number>()
  #timer: ReturnType<typeof setTimeout> | undefined

  readonly #timeout: number

  /** `timeoutMs`: how long a flush waits for the store before it gives up on that batch. */
  constructor(touch: (id: string, at: number) => Promise<void>, intervalMs: number, timeoutMs: number) {
    this.#touch = touch
    this.#interval = intervalMs
    this.#timeout = timeoutMs
  }

  record(id: string, at: number): void {
    if (this.#pending.size >= MAX_PENDING && !this.#pending.has(id)) return
    this.#pending.set(id, at)
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => void this.flush(), this.#interval)
      // Never keep a process alive just to write last-used times.
      // Stryker disable OptionalChaining: equivalent, Node's timers all have unref
      ;(this.#timer as { unref?: () => void }).unref?.()
      // Stryker restore OptionalChaining
    }
  }

  async flush(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const batch = [...this.#pending]
    this.#pending.clear()
    const writes = Promise.all(
      batch.map(async ([id, at]) => {
        try {
          await this.#touch(id, at)
        } catch {
          // Last-used time is informational; a store error here must not surface anywhere.
        }
      }),
    )
    // A hung store must not hang close(), and with it a server's shutdown.
    let timer: ReturnType<typeof setTimeout> | undefined
    const giveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#timeout)
      // Stryker disable OptionalChaining: equivalent, Node's timers all have unref
      ;(timer as { unref?: () => void }).unref?.()
      // Stryker restore OptionalChaining
    })
    try {
      await Promise.race([writes, giveUp])
    } finally {
      clearTimeout(timer)
    }
  }
}
