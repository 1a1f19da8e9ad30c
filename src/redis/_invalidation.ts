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
 * Messages only ever remove cache entries, never add any: a forged or replayed message can cost
 * cache hits, never grant access.
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { typeError } from '../errors.js'
import type { StoreChange } from '../types.js'
import { busConfig, validChange, type InvalidationTarget, type RedisInvalidation, type RedisInvalidationOptions } from './_bus-options.js'
import { createInbox, createSuspectGate } from './_bus-inbox.js'
import { decode, encodeBeat, encodeChange } from './_wire.js'

export type { InvalidationTarget, RedisInvalidation, RedisInvalidationOptions } from './_bus-options.js'

/** Implementation of `redisInvalidation` (see `keyward/redis`). */
export function createRedisInvalidation(redis: Redis, options: RedisInvalidationOptions = {}): RedisInvalidation {
  const { channel, publishHashes, heartbeatMs, outageClearMs, connectTimeoutMs, secret, onError, onStateChange } = busConfig(redis, options)

  const report = (e: unknown, fallback: string): void => {
    try {
      onError?.(e instanceof Error ? e : new Error(fallback))
    } catch {
      // An error hook that throws must not break the bus.
    }
  }

  const caches = new Set<InvalidationTarget>()
  let sub: Redis | undefined
  /** `up` = subscribed (confirmed) and messages flowing (the last heartbeat came back). */
  let up = false
  let subscribed = false
  let flowing = true
  let outageTimer: ReturnType<typeof setInterval> | undefined
  let heartbeat: ReturnType<typeof setInterval> | undefined
  let pinging = false
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

  const gate = createSuspectGate(outageClearMs, (n) => {
    clearAll()
    report(new Error(`keyward/redis: ${n} malformed or unauthenticated invalidation message(s) (caches cleared)`), '')
  })

  // Heartbeats: `<nonce>.<seq>`; only our own nonce counts.
  const nonce = randomBytes(12).toString('base64url')
  let beatSeq = 0
  let beatOut: { seq: number } | undefined
  let beatPublishing = false
  const onBeat = (beat: string): void => {
    const dot = beat.lastIndexOf('.')
    if (beatOut === undefined || beat.slice(0, dot) !== nonce || Number(beat.slice(dot + 1)) !== beatOut.seq) return
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

  const receive = createInbox((text) => {
    const m = decode(text, secret)
    if (m === undefined) gate.suspect()
    else if (m.kind === 'beat') onBeat(m.beat)
    else apply(m.change)
  }, () => gate.suspect())

  const subscribe = (s: Redis): void => {
    s.subscribe(channel).then(
      () => {
        if (sub !== s) return
        subscribed = true
        maybeUp()
      },
      (e: unknown) => {
        report(e, 'keyward/redis: subscribe failed')
        if (sub === s) s.disconnect(true)
      },
    )
  }

  const ping = (s: Redis): void => {
    if (!up || pinging || sub !== s) return
    pinging = true
    let timer: ReturnType<typeof setTimeout> | undefined
    Promise.race([
      s.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('keyward/redis: subscriber heartbeat timed out')), heartbeatMs)
      }),
    ])
      .catch((e: unknown) => {
        if (sub !== s) return
        report(e, 'keyward/redis: subscriber heartbeat failed')
        goDown()
        s.disconnect(true)
      })
      .finally(() => {
        clearTimeout(timer)
        pinging = false
      })
  }

  const start = (): Redis => {
    // A dedicated connection: one in subscriber mode can run no other command. We subscribe
    // ourselves on every 'ready' instead of ioredis's autoResubscribe, to know when it is done.
    const s = redis.duplicate({ autoResubscribe: false, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: null })
    s.on('ready', () => subscribe(s))
    s.on('close', goDown)
    s.on('end', goDown)
    s.on('error', (e: unknown) => report(e, 'keyward/redis: subscriber connection error'))
    s.on('message', (ch: string, text: string) => {
      if (ch === channel) receive(text)
    })
    startOutage()
    s.connect().catch((e: unknown) => report(e, 'keyward/redis: subscriber connect failed'))
    if (heartbeatMs > 0) {
      heartbeat = setInterval(() => {
        if (sub !== s) return
        ping(s)
        beatTick()
      }, heartbeatMs)
      heartbeat.unref?.()
    }
    return s
  }

  const stop = async (): Promise<void> => {
    const s = sub
    sub = undefined
    if (heartbeat !== undefined) clearInterval(heartbeat)
    if (outageTimer !== undefined) clearInterval(outageTimer)
    gate.stop()
    heartbeat = undefined
    outageTimer = undefined
    up = false
    subscribed = false
    flowing = true
    beatOut = undefined
    if (s === undefined) return
    s.removeAllListeners('close')
    s.removeAllListeners('end')
    s.removeAllListeners('ready')
    try {
      await Promise.race([s.quit(), new Promise((resolve) => setTimeout(resolve, 1000).unref?.())])
    } catch {
      // Already gone.
    }
    s.disconnect()
  }

  const detach = async (cache: InvalidationTarget): Promise<void> => {
    caches.delete(cache)
    if (caches.size === 0) await stop()
  }

  return {
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

    async close(): Promise<void> {
      for (const w of [...waiters]) w.fail(new Error('keyward/redis: the invalidation bus was closed'))
      caches.clear()
      await stop()
    },
  }
}
