/**
 * How the invalidation bus takes messages in: a bounded queue applied in short slices, so a flood
 * never holds requests up for long, and a gate that turns any number of unreadable or
 * unauthenticated messages into at most one cache clear per interval.
 * @module
 */

/** Messages (and characters) received but not yet applied; beyond this, they are dropped and caches cleared. */
const MAX_INBOX = 100_000
const MAX_INBOX_CHARS = 8_000_000
/** Longest the bus applies messages in one event-loop turn before yielding to requests. */
const SLICE_MS = 2

/**
 * A queue of received messages, applied by `handle` in slices of at most SLICE_MS (ioredis hands
 * over a whole socket read at once, which a flood makes large); beyond MAX_INBOX messages they are
 * dropped, and a dropped message is passed to `overflow` (it counts as unreadable). Returns the
 * function that takes in one message.
 */
export function createInbox(handle: (text: string) => void, overflow: () => void): (text: string) => void {
  const inbox: string[] = []
  let head = 0
  let chars = 0
  let draining = false
  const drain = (): void => {
    const until = performance.now() + SLICE_MS
    let n = 0
    while (head < inbox.length) {
      const text = inbox[head]!
      inbox[head++] = ''
      chars -= text.length
      handle(text)
      if (++n % 32 === 0 && performance.now() >= until) break
    }
    if (head < inbox.length) {
      // Under a sustained flood the queue may never empty: drop what was applied.
      if (head >= 4096) {
        inbox.splice(0, head)
        head = 0
      }
      setImmediate(drain)
      return
    }
    inbox.length = 0
    head = 0
    chars = 0
    draining = false
  }
  return (text: string): void => {
    if (inbox.length - head >= MAX_INBOX || chars + text.length > MAX_INBOX_CHARS) return overflow()
    chars += text.length
    inbox.push(text)
    if (!draining) {
      draining = true
      setImmediate(drain)
    }
  }
}

/** What {@link createSuspectGate} returns. */
export interface SuspectGate {
  /** Counts one unreadable or unauthenticated message. */
  suspect(): void
  /** Cancels a pending clear (the bus is closing). */
  stop(): void
}

/**
 * Unreadable or unauthenticated messages may have been invalidations: each must be followed by a
 * clear, but one clear covers every one of them received before it. So the first clears at once,
 * later ones within the same `intervalMs` share one clear (and one report of their count) at its end.
 */
export function createSuspectGate(intervalMs: number, clear: (count: number) => void): SuspectGate {
  let count = 0
  let last = -Infinity
  let timer: ReturnType<typeof setTimeout> | undefined
  const fire = (): void => {
    timer = undefined
    last = performance.now()
    const n = count
    count = 0
    clear(n)
  }
  return {
    suspect(): void {
      count++
      if (timer !== undefined) return
      const wait = last + intervalMs - performance.now()
      if (wait <= 0) return fire()
      timer = setTimeout(fire, wait)
      timer.unref?.()
    },
    stop(): void {
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
    },
  }
}
