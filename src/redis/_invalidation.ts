/**
 * Revocation propagation over Redis pub/sub: every `KeyManager` write is published, and every
 * instance's `cachedStore` drops what it affects.
 *
 * Pub/sub delivers at most once and only to connected subscribers, so a message sent while a
 * subscriber is disconnected is lost. The bus therefore treats a dropped subscription as "I may
 * have missed anything": while it is down, attached caches are cleared every `outageClearMs`
 * (which bounds how stale they can get to that, instead of their TTL), and once the subscription
 * is back, they are cleared once more, after the subscription is confirmed, so that nothing
 * loaded during the gap survives.
 *
 * The subscriber runs in a worker thread when it can (`_bus-host.ts`), so that reading a flood off
 * the channel never holds up requests; otherwise in this thread (`_bus-receive.ts`, the same code).
 *
 * Messages only ever remove cache entries, never add any: a forged or replayed message can cost
 * cache hits, never grant access.
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { Worker } from 'node:worker_threads'
import type { Redis } from 'ioredis'
import { typeError } from '../errors.js'
import type { StoreChange } from '../types.js'
import { busConfig, validChange, type InvalidationTarget, type RedisInvalidation, type RedisInvalidationOptions } from './_bus-options.js'
import { createSuspectGate } from './_bus-inbox.js'
import { startWorker, workerOptions, type WorkerHost } from './_bus-host.js'
import { startReceiver, SUBSCRIBER_OPTIONS, type Receiver } from './_bus-receive.js'
import { encodeBeat, encodeChange } from './_wire.js'

export type { InvalidationTarget, RedisInvalidation, RedisInvalidationOptions } from './_bus-options.js'

/** The worker of each bus that runs one, for tests that make it fail. */
const workers = new WeakMap<RedisInvalidation, () => Worker | undefined>()

/** The subscriber worker a bus is running now, if any (internal: for tests). */
export function subscriberWorker(bus: RedisInvalidation): Worker | undefined {
  return workers.get(bus)?.()
}

/** A running subscriber, in this thread or in a worker. */
type Subscriber = { kind: 'thread'; receiver: Receiver } | { kind: 'worker'; host: WorkerHost }

/** Implementation of `redisInvalidation` (see `keyward/redis`). */
export function createRedisInvalidation(redis: Redis, options: RedisInvalidationOptions = {}): RedisInvalidation {
  const config = busConfig(redis, options)
  const { channel, publishHashes, heartbeatMs, outageClearMs, connectTimeoutMs, secret, onError, onStateChange } = config
  const handover = config.subscriber === 'thread' ? 'the thread subscriber was chosen' : workerOptions(redis)
  if (config.subscriber === 'worker' && typeof handover === 'string') throw typeError('subscriber', `cannot be 'worker': ${handover}`)
  let mode: 'worker' | 'thread' = typeof handover === 'string' ? 'thread' : 'worker'

  const report = (e: unknown, fallback: string): void => {
    try {
      onError?.(e instanceof Error ? e : new Error(fallback))
    } catch {
      // An error hook that throws must not break the bus.
    }
  }

  const caches = new Set<InvalidationTarget>()
  let sub: Subscriber | undefined
  /** `up` = subscribed (confirmed) and messages flowing (the last heartbeat came back). */
  let up = false
  let subscribed = false
  let flowing = true
  let outageTimer: ReturnType<typeof setInterval> | undefined
  let heartbeat: ReturnType<typeof setInterval> | undefined
  let restart: ReturnType<typeof setTimeout> | undefined
  const counted = { messages: 0, handoffs: 0 }
  const waiters = new Set<{ ok: () => void; fail: (e: Error) => void }>()

  const clearAll = (): void => {
    for (const c of caches) {
      try {
        c.clear()
      } catch (e) {
        report(e, 'keyward/redis: cache clear failed')
      }
    }
  }

  const apply = (change: StoreChange): void => {
    for (const c of caches) {
      try {
        c.invalidate(change)
      } catch (e) {
        report(e, 'keyward/redis: cache invalidate failed')
      }
    }
  }

  const setState = (next: boolean): void => {
    if (next === up) return
    up = next
    try {
      onStateChange?.(next ? 'up' : 'down')
    } catch {
      // A state hook that throws must not break the bus.
    }
  }

  const startOutage = (): void => {
    // Anything may have been missed from now on: stop trusting the caches.
    clearAll()
    if (outageTimer === undefined) {
      outageTimer = setInterval(clearAll, outageClearMs)
      outageTimer.unref?.()
    }
  }

  const goDown = (): void => {
    const wasUp = up
    subscribed = false
    beatOut = undefined
    setState(false)
    if (wasUp || outageTimer === undefined) startOutage()
  }

  /** Subscribed and flowing again: every write from now on reaches us; whatever was loaded before may be stale. */
  const maybeUp = (): void => {
    if (!subscribed || !flowing) return
    if (outageTimer !== undefined) clearInterval(outageTimer)
    outageTimer = undefined
    // clear() also detaches lookups in flight, so none of them can be cached.
    clearAll()
    setState(true)
    for (const w of [...waiters]) w.ok()
  }

  const suspectClear = (n: number): void => {
    clearAll()
    report(new Error(`keyward/redis: ${n} malformed or unauthenticated invalidation message(s) (caches cleared)`), '')
  }
  const gate = createSuspectGate(outageClearMs, suspectClear)

  // Heartbeats: `<nonce>.<seq>`; only our own nonce counts (the receiver drops the others).
  const nonce = randomBytes(12).toString('base64url')
  let beatSeq = 0
  let beatOut: { seq: number } | undefined
  let beatPublishing = false
  const onBeat = (seq: number): void => {
    if (beatOut === undefined || seq !== beatOut.seq) return
    beatOut = undefined
    if (!flowing) {
      flowing = true
      maybeUp()
    }
  }
  const beatTick = (): void => {
    if (!subscribed) return
    // Still out at the next tick: not back within one period.
    if (beatOut !== undefined && flowing) {
      // Published a period ago and not back: Redis is holding writes (a failover pause) or the
      // publishing client is stuck. Revocations published meanwhile are not reaching us either.
      flowing = false
      report(new Error('keyward/redis: heartbeat not received through the channel (caches cleared until it is)'), '')
      setState(false)
      startOutage()
    }
    if (beatPublishing) return
    beatOut = { seq: ++beatSeq }
    beatPublishing = true
    const done = (): void => void (beatPublishing = false)
    try {
      redis.publish(channel, encodeBeat(`${nonce}.${beatOut.seq}`, secret)).then(done, done)
    } catch {
      done()
    }
  }

  const countsOf = (s: Subscriber | undefined): { messages: number; handoffs: number } => {
    if (s === undefined) return { messages: 0, handoffs: 0 }
    if (s.kind === 'thread') return { messages: s.receiver.messages, handoffs: s.receiver.messages }
    return { messages: s.host.messages, handoffs: s.host.handoffs }
  }
  const retire = (s: Subscriber): Promise<void> => {
    const c = countsOf(s)
    counted.messages += c.messages
    counted.handoffs += c.handoffs
    return s.kind === 'thread' ? s.receiver.stop() : s.host.stop()
  }

  const inThread = (): Subscriber => {
    const receiver = startReceiver(redis.duplicate({ ...SUBSCRIBER_OPTIONS }), { channel, secret, nonce, heartbeatMs }, {
      up: () => {
        subscribed = true
        maybeUp()
      },
      down: goDown,
      change: apply,
      beat: onBeat,
      suspect: () => gate.suspect(),
      error: report,
    })
    return { kind: 'thread', receiver }
  }

  /** A worker died: fail closed (down, caches cleared as in an outage), say so, and start another. */
  const workerFailed = (dead: Subscriber, e: Error, booted: boolean): void => {
    if (sub !== dead) return
    report(e, '')
    goDown()
    void retire(dead)
    if (!booted && config.subscriber === 'auto') {
      // It never ran (no ioredis where the worker looks, say): this thread it is.
      mode = 'thread'
      sub = inThread()
      return
    }
    restart = setTimeout(() => {
      restart = undefined
      if (sub === dead) sub = subscriber()
    }, outageClearMs)
    restart.unref?.()
  }

  const inWorker = (copied: Record<string, unknown>): Subscriber | string => {
    let me: Subscriber | undefined
    const mine = (): boolean => me !== undefined && sub === me
    const host = startWorker({ options: copied, channel, secret, nonce, heartbeatMs, outageClearMs }, {
      up: () => {
        if (!mine()) return
        subscribed = true
        maybeUp()
      },
      down: () => void (mine() && goDown()),
      batch: (changes, beat, overflow) => {
        if (!mine()) return
        if (overflow) clearAll()
        else for (const c of changes) apply(c)
        if (beat !== undefined) onBeat(beat)
      },
      clear: (n) => void (mine() && suspectClear(n)),
      error: (e) => report(e, ''),
      failed: (e, booted) => void (me !== undefined && workerFailed(me, e, booted)),
    })
    if (typeof host === 'string') return host
    me = { kind: 'worker', host }
    return me
  }

  const subscriber = (): Subscriber => {
    if (mode === 'worker' && typeof handover !== 'string') {
      const w = inWorker(handover)
      if (typeof w !== 'string') return w
      if (config.subscriber === 'worker') report(new Error(`keyward/redis: subscriber worker not started: ${w}; using this thread`), '')
      mode = 'thread'
    }
    return inThread()
  }

  const start = (): Subscriber => {
    startOutage()
    const s = subscriber()
    if (heartbeatMs > 0) {
      heartbeat = setInterval(beatTick, heartbeatMs)
      heartbeat.unref?.()
    }
    return s
  }

  const stop = async (): Promise<void> => {
    const s = sub
    sub = undefined
    if (heartbeat !== undefined) clearInterval(heartbeat)
    if (outageTimer !== undefined) clearInterval(outageTimer)
    if (restart !== undefined) clearTimeout(restart)
    gate.stop()
    heartbeat = undefined
    outageTimer = undefined
    restart = undefined
    up = false
    subscribed = false
    flowing = true
    beatOut = undefined
    if (s !== undefined) await retire(s)
  }

  const detach = async (cache: InvalidationTarget): Promise<void> => {
    caches.delete(cache)
    if (caches.size === 0) await stop()
  }

  const bus: RedisInvalidation = {
    publish(change: StoreChange): void {
      if (!validChange(change)) {
        report(new TypeError('keyward/redis: publish() needs a StoreChange { type, id, hashes? }'), '')
        return
      }
      apply(change)
      try {
        redis.publish(channel, encodeChange(change, publishHashes, secret)).catch((e: unknown) => report(e, 'keyward/redis: publish failed'))
      } catch (e) {
        report(e, 'keyward/redis: publish failed')
      }
    },

    attach(cache: InvalidationTarget): Promise<() => Promise<void>> {
      if (cache === null || typeof cache !== 'object' || typeof cache.invalidate !== 'function' || typeof cache.clear !== 'function') {
        return Promise.reject(typeError('cache', 'must have invalidate(change) and clear() (use cachedStore())'))
      }
      const first = !caches.has(cache)
      caches.add(cache)
      // Entries it holds may predate the subscription.
      if (first) cache.clear()
      if (sub === undefined) sub = start()
      let done = false
      const detachOnce = async (): Promise<void> => {
        if (done) return
        done = true
        await detach(cache)
      }
      if (up) return Promise.resolve(detachOnce)
      return new Promise((resolve, reject) => {
        const w = {
          ok: (): void => {
            clearTimeout(timer)
            waiters.delete(w)
            resolve(detachOnce)
          },
          fail: (e: Error): void => {
            clearTimeout(timer)
            waiters.delete(w)
            void detachOnce().finally(() => reject(e))
          },
        }
        const timer = setTimeout(() => w.fail(new Error(`keyward/redis: no subscription to the invalidation channel within ${connectTimeoutMs} ms`)), connectTimeoutMs)
        waiters.add(w)
      })
    },

    get state(): 'up' | 'down' | 'idle' {
      return sub === undefined ? 'idle' : up ? 'up' : 'down'
    },

    get subscriber(): 'worker' | 'thread' {
      return mode
    },

    get counters(): { messages: number; handoffs: number } {
      const c = countsOf(sub)
      return { messages: counted.messages + c.messages, handoffs: counted.handoffs + c.handoffs }
    },

    async close(): Promise<void> {
      for (const w of [...waiters]) w.fail(new Error('keyward/redis: the invalidation bus was closed'))
      caches.clear()
      await stop()
    },
  }
  workers.set(bus, () => (sub?.kind === 'worker' ? sub.host.worker : undefined))
  return bus
}
