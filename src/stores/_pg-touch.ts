/**
 * Last-used times of the Postgres store: collected in memory, bounded, and written in batches of
 * one statement each, one batch after another, so they never sit on the request path.
 * @module
 */

/** Rows written by one statement of a flush. */
const TOUCH_BATCH = 1000
/** Keys remembered between flushes; touches of further keys are dropped until the next flush. */
const MAX_PENDING_TOUCHES = 100_000

/** Writes one batch: ids, and the last-used time of each, in the same order. */
export type WriteTouches = (ids: string[], ats: number[]) => Promise<void>

/** The pending last-used times of one store, and the timer that flushes them. */
export class TouchBatches {
  readonly #pending = new Map<string, number>()
  readonly #flushMs: number
  readonly #write: WriteTouches
  readonly #report: (e: Error) => void
  #timer: ReturnType<typeof setTimeout> | undefined
  #flushing: Promise<void> = Promise.resolve()

  constructor(flushMs: number, write: WriteTouches, report: (e: Error) => void) {
    this.#flushMs = flushMs
    this.#write = write
    this.#report = report
  }

  /** Keeps the latest time of `id` for the next flush, and starts the flush timer if none runs. */
  add(id: string, at: number): void {
    const prev = this.#pending.get(id)
    if (prev === undefined && this.#pending.size >= MAX_PENDING_TOUCHES) return
    if (prev === undefined || prev < at) this.#pending.set(id, at)
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => void this.flush(), this.#flushMs)
      // Never keep a process alive only to write last-used times.
      this.#timer.unref?.()
    }
  }

  /** Writes what is pending now, after any flush still running; a failed batch goes to `report`. */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    // Sorted by id: every instance locks rows in the same order (the statement also skips rows
    // another transaction holds, so a batch never waits for a revoke nor a revoke for long).
    const batch = [...this.#pending].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    this.#pending.clear()
    // Batches are written one after another, never two at once for the same rows.
    const run = this.#flushing.then(async () => {
      for (let i = 0; i < batch.length; i += TOUCH_BATCH) {
        const part = batch.slice(i, i + TOUCH_BATCH)
        try {
          await this.#write(part.map(([id]) => id), part.map(([, at]) => at))
        } catch (e) {
          this.#report(e instanceof Error ? e : new Error('postgres store: touch failed'))
        }
      }
    })
    this.#flushing = run
    await run
  }
}
