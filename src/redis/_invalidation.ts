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
import { knownFields } from '../_options.js'
import type { Redis } from 'ioredis'
import { rangeError, typeError } from '../errors.js'
import type { CachedStore } from '../stores/cached.js'
import type { StoreChange } from '../types.js'
import { decode, encodeBeat, encodeChange } from './_wire.js'

/** What the bus needs of a cache: `cachedStore()` returns one. */
export type InvalidationTarget = Pick<CachedStore, 'invalidate' | 'clear'>

/** Options of {@link redisInvalidation}. */
export interface RedisInvalidationOptions {
  /**
   * The pub/sub channel. Every instance that shares keys must use the same one; messages carry
   * key ids and key hashes (never keys), so restrict it with a Redis ACL where Redis is shared.
   * @default 'keyward:invalidate'
   * @example 'myapp:keyward:invalidate'
   */
  channel?: string
  /**
   * Put the key hashes of a change in the message. Without them, other instances still drop a
   * changed key's cached record (caches index records by key id), so revocations propagate the
   * same; what they cannot drop is a cached miss for a hash that just became valid (an imported
   * key someone tried a moment before), which is refused until `negativeTtlMs` runs out.
   * `false` keeps hashes off the wire, e.g. on a Redis shared with other applications.
   * @default true
   * @example false
   */
  publishHashes?: boolean
  /**
   * How often the bus proves that messages flow, in milliseconds. Each period it publishes a
   * heartbeat on the channel (through `redis`, the client revocations are published with) and
   * expects to receive it on its subscriber connection before the next period; and it PINGs the
   * subscriber connection. A heartbeat not received in time (Redis holding writes during a
   * failover, `CLIENT PAUSE … WRITE`, where PUBLISH waits while PING answers) makes the bus
   * `down`, so attached caches are cleared as in an outage until a heartbeat gets through; a PING
   * not answered in time also reconnects the subscriber (a half-open connection). 0 disables
   * both checks, and then a failover pause hides revocations for as long as it lasts.
   * @default 1000
   * @example 500
   */
  heartbeatMs?: number
  /**
   * Shared secret that authenticates messages: each carries an HMAC-SHA-256 of its content, and a
   * message without the right one is handled like an unreadable one (caches are cleared, at most
   * once per `outageClearMs`; never applied). Every instance on the channel must use the same
   * secret; at least 32 bytes. It keeps whoever can publish on the channel from sending
   * targeted invalidations or fake heartbeats; it does not hide the messages (use an ACL).
   * @default undefined (messages are not authenticated)
   * @example process.env.KEYWARD_BUS_SECRET
   */
  secret?: string | Uint8Array
  /**
   * While the subscription is down, attached caches are cleared this often, in milliseconds: the
   * longest a cached entry can outlive a missed invalidation during an outage (plus the time to
   * notice it). Lower means fresher and more store lookups.
   * @default 1000
   * @example 500
   */
  outageClearMs?: number
  /**
   * `attach()` rejects if the first subscription is not confirmed within this time.
   * @default 5000
   * @example 10_000
   */
  connectTimeoutMs?: number
  /**
   * Receives errors that have no caller: a failed publish, a connection error, a lost heartbeat,
   * malformed messages (at most one report per `outageClearMs`, with their count). Messages never
   * include message contents.
   * @default undefined (ignored)
   * @example (e) => logger.warn(e.message)
   */
  onError?: (error: Error) => void
  /**
   * Called when the subscription goes up or down, e.g. for a metric or a health check.
   * @default undefined
   * @example (state) => metrics.gauge('keyward_bus_up', state === 'up' ? 1 : 0)
   */
  onStateChange?: (state: 'up' | 'down') => void
}

/** The bus returned by {@link redisInvalidation}. */
export interface RedisInvalidation {
  /**
   * Publishes a write's change; pass it as `KeyManagerOptions.onWrite`. Caches attached to this
   * bus are invalidated at once, before the message leaves; the others when it arrives.
   * Never throws; a failed publish goes to `onError`.
   */
  publish(change: StoreChange): void
  /**
   * Applies every change published on the channel (by any instance) to `cache`. Resolves once
   * the subscription is confirmed (the cache is cleared then, as it may hold entries loaded
   * before), with a function that detaches the cache again. Rejects after `connectTimeoutMs`.
   */
  attach(cache: InvalidationTarget): Promise<() => Promise<void>>
  /** `up`: subscribed; `down`: a cache is attached but the subscription is not (yet) confirmed; `idle`: nothing attached. */
  readonly state: 'up' | 'down' | 'idle'
  /** Detaches every cache and closes the subscriber connection. The `redis` client passed in is yours and stays open. */
  close(): Promise<void>
}

const FIELDS: ReadonlySet<string> = new Set(['channel', 'publishHashes', 'heartbeatMs', 'outageClearMs', 'connectTimeoutMs', 'secret', 'onError', 'onStateChange'])
const TYPES: ReadonlySet<string> = new Set(['key', 'group', 'owner'])
/** Messages (and characters) received but not yet applied; beyond this, they are dropped and caches cleared. */
const MAX_INBOX = 100_000
const MAX_INBOX_CHARS = 8_000_000
/** Longest the bus applies messages in one event-loop turn before yielding to requests. */
const SLICE_MS = 2

function ms(v: unknown, field: string, fallback: number, min: number): number {
  if (v === undefined) return fallback
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > 3_600_000) {
    throw rangeError(field, `must be a number of milliseconds from ${min} to 3600000`)
  }
  return v
}

function validChange(c: unknown): c is StoreChange {
  if (c === null || typeof c !== 'object') return false
  const o = c as Record<string, unknown>
  if (typeof o.type !== 'string' || !TYPES.has(o.type) || typeof o.id !== 'string') return false
  return o.type !== 'key' || (Array.isArray(o.hashes) && o.hashes.every((h) => typeof h === 'string'))
}

/** The `secret` option as bytes (at least 32, like a pepper), or `undefined`. */
function secretBytes(v: unknown): Uint8Array | undefined {
  if (v === undefined) return undefined
  const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : v instanceof Uint8Array ? v : undefined
  if (bytes === undefined) throw typeError('secret', 'must be a string or a Uint8Array')
  if (bytes.length < 32) throw rangeError('secret', 'must be at least 32 bytes')
  return Uint8Array.from(bytes)
}

/** Implementation of `redisInvalidation` (see `keyward/redis`). */
export function createRedisInvalidation(redis: Redis, options: RedisInvalidationOptions = {}): RedisInvalidation {
  if (redis === null || typeof redis !== 'object' || typeof (redis as Partial<Redis>).duplicate !== 'function' || typeof (redis as Partial<Redis>).publish !== 'function') {
    throw typeError('redis', 'must be an ioredis client')
  }
  if (options === null || typeof options !== 'object') throw typeError('options', 'must be an object')
  knownFields(options, FIELDS, 'options')
  const channel = options.channel ?? 'keyward:invalidate'
  if (typeof channel !== 'string' || channel.length === 0 || channel.length > 256) throw rangeError('channel', 'must be a string of 1 to 256 characters')
  const publishHashes = options.publishHashes ?? true
  if (typeof publishHashes !== 'boolean') throw typeError('publishHashes', 'must be a boolean')
  const heartbeatMs = ms(options.heartbeatMs, 'heartbeatMs', 1000, 0)
  const outageClearMs = ms(options.outageClearMs, 'outageClearMs', 1000, 10)
  const connectTimeoutMs = ms(options.connectTimeoutMs, 'connectTimeoutMs', 5000, 1)
  const onError = options.onError
  const onStateChange = options.onStateChange
  if (onError !== undefined && typeof onError !== 'function') throw typeError('onError', 'must be a function')
  if (onStateChange !== undefined && typeof onStateChange !== 'function') throw typeError('onStateChange', 'must be a function')

  const secret = secretBytes(options.secret)

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

  // Unreadable or unauthenticated messages may have been invalidations: each must be followed by
  // a clear, but one clear covers every one of them received before it. So the first clears at
  // once, later ones within the same `outageClearMs` share one clear at its end.
  let suspect = 0
  let lastSuspectClear = -Infinity
  let suspectTimer: ReturnType<typeof setTimeout> | undefined
  const suspectClear = (): void => {
    suspectTimer = undefined
    lastSuspectClear = performance.now()
    clearAll()
    report(new Error(`keyward/redis: ${suspect} malformed or unauthenticated invalidation message(s) (caches cleared)`), '')
    suspect = 0
  }
  const onSuspect = (): void => {
    suspect++
    if (suspectTimer !== undefined) return
    const wait = lastSuspectClear + outageClearMs - performance.now()
    if (wait <= 0) return suspectClear()
    suspectTimer = setTimeout(suspectClear, wait)
    suspectTimer.unref?.()
  }

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

  // Messages are queued as they arrive (ioredis hands over a whole socket read at once, which a
  // flood makes large) and applied in slices of at most SLICE_MS, so requests are never held up
  // for longer; beyond MAX_INBOX they are dropped, and a dropped message counts as unreadable.
  const inbox: string[] = []
  let inboxHead = 0
  let inboxChars = 0
  let draining = false
  const drain = (): void => {
    const until = performance.now() + SLICE_MS
    let n = 0
    while (inboxHead < inbox.length) {
      const text = inbox[inboxHead]!
      inbox[inboxHead++] = ''
      inboxChars -= text.length
      const m = decode(text, secret)
      if (m === undefined) onSuspect()
      else if (m.kind === 'beat') onBeat(m.beat)
      else apply(m.change)
      if (++n % 32 === 0 && performance.now() >= until) break
    }
    if (inboxHead < inbox.length) {
      // Under a sustained flood the queue may never empty: drop what was applied.
      if (inboxHead >= 4096) {
        inbox.splice(0, inboxHead)
        inboxHead = 0
      }
      setImmediate(drain)
      return
    }
    inbox.length = 0
    inboxHead = 0
    inboxChars = 0
    draining = false
  }
  const receive = (text: string): void => {
    if (inbox.length - inboxHead >= MAX_INBOX || inboxChars + text.length > MAX_INBOX_CHARS) return onSuspect()
    inboxChars += text.length
    inbox.push(text)
    if (!draining) {
      draining = true
      setImmediate(drain)
    }
  }

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
    if (suspectTimer !== undefined) clearTimeout(suspectTimer)
    heartbeat = undefined
    outageTimer = undefined
    suspectTimer = undefined
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
