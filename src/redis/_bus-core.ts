/**
 * The state of one invalidation bus (see `_invalidation.ts`): the attached caches, whether the
 * subscription is up and messages are flowing, the outage clearing, the heartbeat, and the
 * subscriber it runs in this thread or in a worker. `createRedisInvalidation` wraps it in the
 * public `RedisInvalidation` object.
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { Worker } from 'node:worker_threads'
import type { Redis } from 'ioredis'
import { typeError } from '../errors.js'
import type { StoreChange } from '../types.js'
import { validChange, type BusConfig, type InvalidationTarget } from './_bus-options.js'
import { createSuspectGate, type SuspectGate } from './_bus-inbox.js'
import { startWorker, type WorkerHost } from './_bus-host.js'
import { startReceiver, SUBSCRIBER_OPTIONS, type Receiver } from './_bus-receive.js'
import { encodeBeat, encodeChange } from './_wire.js'

/** A running subscriber, in this thread or in a worker. */
type Subscriber = { kind: 'thread'; receiver: Receiver } | { kind: 'worker'; host: WorkerHost }

/** An `attach()` waiting for the subscription. */
interface Waiter {
  ok(): void
  fail(e: Error): void
}

function countsOf(s: Subscriber | undefined): { messages: number; handoffs: number } {
  if (s === undefined) return { messages: 0, handoffs: 0 }
  if (s.kind === 'thread') return { messages: s.receiver.messages, handoffs: s.receiver.messages }
  return { messages: s.host.messages, handoffs: s.host.handoffs }
}

/** One bus: everything `createRedisInvalidation` used to hold in its closure. */
export class BusCore {
  readonly #redis: Redis
  readonly #config: BusConfig
  /** The options a worker's client is created with, or why there can be no worker. */
  readonly #handover: Record<string, unknown> | string
  #mode: 'worker' | 'thread'
  readonly #caches = new Set<InvalidationTarget>()
  #sub: Subscriber | undefined
  /** `up` = subscribed (confirmed) and messages flowing (the last heartbeat came back). */
  #up = false
  #subscribed = false
  #flowing = true
  #outageTimer: ReturnType<typeof setInterval> | undefined
  #heartbeat: ReturnType<typeof setInterval> | undefined
  #restart: ReturnType<typeof setTimeout> | undefined
  readonly #counted = { messages: 0, handoffs: 0 }
  readonly #waiters = new Set<Waiter>()
  readonly #gate: SuspectGate
  // Heartbeats: `<nonce>.<seq>`; only our own nonce counts (the receiver drops the others).
  readonly #nonce = randomBytes(12).toString('base64url')
  #beatSeq = 0
  #beatOut: { seq: number } | undefined
  #beatPublishing = false

  constructor(redis: Redis, config: BusConfig, handover: Record<string, unknown> | string) {
    this.#redis = redis
    this.#config = config
    this.#handover = handover
    this.#mode = typeof handover === 'string' ? 'thread' : 'worker'
    this.#gate = createSuspectGate(config.outageClearMs, (n) => this.#suspectClear(n))
  }

  report(e: unknown, fallback: string): void {
    try {
      this.#config.onError?.(e instanceof Error ? e : new Error(fallback))
    } catch {
      // An error hook that throws must not break the bus.
    }
  }

  #clearAll(): void {
    for (const c of this.#caches) {
      try {
        c.clear()
      } catch (e) {
        this.report(e, 'keyward/redis: cache clear failed')
      }
    }
  }

  #apply(change: StoreChange): void {
    for (const c of this.#caches) {
      try {
        c.invalidate(change)
      } catch (e) {
        this.report(e, 'keyward/redis: cache invalidate failed')
      }
    }
  }

  #setState(next: boolean): void {
    if (next === this.#up) return
    this.#up = next
    try {
      this.#config.onStateChange?.(next ? 'up' : 'down')
    } catch {
      // A state hook that throws must not break the bus.
    }
  }

  #startOutage(): void {
    // Anything may have been missed from now on: stop trusting the caches.
    this.#clearAll()
    if (this.#outageTimer === undefined) {
      this.#outageTimer = setInterval(() => this.#clearAll(), this.#config.outageClearMs)
      this.#outageTimer.unref?.()
    }
  }

  #goDown(): void {
    const wasUp = this.#up
    this.#subscribed = false
    this.#beatOut = undefined
    this.#setState(false)
    if (wasUp || this.#outageTimer === undefined) this.#startOutage()
  }

  /** Subscribed and flowing again: every write from now on reaches us; whatever was loaded before may be stale. */
  #maybeUp(): void {
    if (!this.#subscribed || !this.#flowing) return
    if (this.#outageTimer !== undefined) clearInterval(this.#outageTimer)
    this.#outageTimer = undefined
    // clear() also detaches lookups in flight, so none of them can be cached.
    this.#clearAll()
    this.#setState(true)
    for (const w of [...this.#waiters]) w.ok()
  }

  #suspectClear(n: number): void {
    this.#clearAll()
    this.report(new Error(`keyward/redis: ${n} malformed or unauthenticated invalidation message(s) (caches cleared)`), '')
  }

  #onBeat(seq: number): void {
    if (this.#beatOut === undefined || seq !== this.#beatOut.seq) return
    this.#beatOut = undefined
    if (!this.#flowing) {
      this.#flowing = true
      this.#maybeUp()
    }
  }

  #beatTick(): void {
    if (!this.#subscribed) return
    // Still out at the next tick: not back within one period.
    if (this.#beatOut !== undefined && this.#flowing) {
      // Published a period ago and not back: Redis is holding writes (a failover pause) or the
      // publishing client is stuck. Revocations published meanwhile are not reaching us either.
      this.#flowing = false
      this.report(new Error('keyward/redis: heartbeat not received through the channel (caches cleared until it is)'), '')
      this.#setState(false)
      this.#startOutage()
    }
    if (this.#beatPublishing) return
    this.#beatOut = { seq: ++this.#beatSeq }
    this.#beatPublishing = true
    const done = (): void => void (this.#beatPublishing = false)
    try {
      this.#redis.publish(this.#config.channel, encodeBeat(`${this.#nonce}.${this.#beatOut.seq}`, this.#config.secret)).then(done, done)
    } catch {
      done()
    }
  }

  #retire(s: Subscriber): Promise<void> {
    const c = countsOf(s)
    this.#counted.messages += c.messages
    this.#counted.handoffs += c.handoffs
    return s.kind === 'thread' ? s.receiver.stop() : s.host.stop()
  }

  #subscribedNow(): void {
    this.#subscribed = true
    this.#maybeUp()
  }

  #inThread(): Subscriber {
    const { channel, secret, heartbeatMs } = this.#config
    const receiver = startReceiver(this.#redis.duplicate({ ...SUBSCRIBER_OPTIONS }), { channel, secret, nonce: this.#nonce, heartbeatMs }, {
      up: () => this.#subscribedNow(),
      down: () => this.#goDown(),
      change: (change) => this.#apply(change),
      beat: (seq) => this.#onBeat(seq),
      suspect: () => this.#gate.suspect(),
      error: (e, fallback) => this.report(e, fallback),
    })
    return { kind: 'thread', receiver }
  }

  /** A worker died: fail closed (down, caches cleared as in an outage), say so, and start another. */
  #workerFailed(dead: Subscriber, e: Error, booted: boolean): void {
    if (this.#sub !== dead) return
    this.report(e, '')
    this.#goDown()
    void this.#retire(dead)
    if (!booted && this.#config.subscriber === 'auto') {
      // It never ran (no ioredis where the worker looks, say): this thread it is.
      this.#mode = 'thread'
      this.#sub = this.#inThread()
      return
    }
    this.#restart = setTimeout(() => {
      this.#restart = undefined
      if (this.#sub === dead) this.#sub = this.#subscriber()
    }, this.#config.outageClearMs)
    this.#restart.unref?.()
  }

  #inWorker(copied: Record<string, unknown>): Subscriber | string {
    const { channel, secret, heartbeatMs, outageClearMs } = this.#config
    let me: Subscriber | undefined
    const mine = (): boolean => me !== undefined && this.#sub === me
    const host = startWorker({ options: copied, channel, secret, nonce: this.#nonce, heartbeatMs, outageClearMs }, {
      up: () => void (mine() && this.#subscribedNow()),
      down: () => void (mine() && this.#goDown()),
      batch: (changes, beat, overflow) => {
        if (!mine()) return
        if (overflow) this.#clearAll()
        else for (const c of changes) this.#apply(c)
        if (beat !== undefined) this.#onBeat(beat)
      },
      clear: (n) => void (mine() && this.#suspectClear(n)),
      error: (e) => this.report(e, ''),
      failed: (e, booted) => void (me !== undefined && this.#workerFailed(me, e, booted)),
    })
    if (typeof host === 'string') return host
    me = { kind: 'worker', host }
    return me
  }

  #subscriber(): Subscriber {
    if (this.#mode === 'worker' && typeof this.#handover !== 'string') {
      const w = this.#inWorker(this.#handover)
      if (typeof w !== 'string') return w
      if (this.#config.subscriber === 'worker') this.report(new Error(`keyward/redis: subscriber worker not started: ${w}; using this thread`), '')
      this.#mode = 'thread'
    }
    return this.#inThread()
  }

  #start(): Subscriber {
    this.#startOutage()
    const s = this.#subscriber()
    if (this.#config.heartbeatMs > 0) {
      this.#heartbeat = setInterval(() => this.#beatTick(), this.#config.heartbeatMs)
      this.#heartbeat.unref?.()
    }
    return s
  }

  async #stop(): Promise<void> {
    const s = this.#sub
    this.#sub = undefined
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat)
    if (this.#outageTimer !== undefined) clearInterval(this.#outageTimer)
    if (this.#restart !== undefined) clearTimeout(this.#restart)
    this.#gate.stop()
    this.#heartbeat = undefined
    this.#outageTimer = undefined
    this.#restart = undefined
    this.#up = false
    this.#subscribed = false
    this.#flowing = true
    this.#beatOut = undefined
    if (s !== undefined) await this.#retire(s)
  }

  async #detach(cache: InvalidationTarget): Promise<void> {
    this.#caches.delete(cache)
    if (this.#caches.size === 0) await this.#stop()
  }

  publish(change: StoreChange): void {
    if (!validChange(change)) {
      this.report(new TypeError('keyward/redis: publish() needs a StoreChange { type, id, hashes? }'), '')
      return
    }
    this.#apply(change)
    try {
      this.#redis.publish(this.#config.channel, encodeChange(change, this.#config.publishHashes, this.#config.secret)).catch((e: unknown) => this.report(e, 'keyward/redis: publish failed'))
    } catch (e) {
      this.report(e, 'keyward/redis: publish failed')
    }
  }

  attach(cache: InvalidationTarget): Promise<() => Promise<void>> {
    if (cache === null || typeof cache !== 'object' || typeof cache.invalidate !== 'function' || typeof cache.clear !== 'function') {
      return Promise.reject(typeError('cache', 'must have invalidate(change) and clear() (use cachedStore())'))
    }
    const first = !this.#caches.has(cache)
    this.#caches.add(cache)
    // Entries it holds may predate the subscription.
    if (first) cache.clear()
    if (this.#sub === undefined) this.#sub = this.#start()
    let done = false
    const detachOnce = async (): Promise<void> => {
      if (done) return
      done = true
      await this.#detach(cache)
    }
    if (this.#up) return Promise.resolve(detachOnce)
    return this.#waitUp(detachOnce)
  }

  /** Resolves with `detachOnce` once the subscription is up; detaches and rejects after `connectTimeoutMs`. */
  #waitUp(detachOnce: () => Promise<void>): Promise<() => Promise<void>> {
    const { connectTimeoutMs } = this.#config
    return new Promise((resolve, reject) => {
      const w = {
        ok: (): void => {
          clearTimeout(timer)
          this.#waiters.delete(w)
          resolve(detachOnce)
        },
        fail: (e: Error): void => {
          clearTimeout(timer)
          this.#waiters.delete(w)
          void detachOnce().finally(() => reject(e))
        },
      }
      const timer = setTimeout(() => w.fail(new Error(`keyward/redis: no subscription to the invalidation channel within ${connectTimeoutMs} ms`)), connectTimeoutMs)
      this.#waiters.add(w)
    })
  }

  get state(): 'up' | 'down' | 'idle' {
    return this.#sub === undefined ? 'idle' : this.#up ? 'up' : 'down'
  }

  get subscriber(): 'worker' | 'thread' {
    return this.#mode
  }

  get counters(): { messages: number; handoffs: number } {
    const c = countsOf(this.#sub)
    return { messages: this.#counted.messages + c.messages, handoffs: this.#counted.handoffs + c.handoffs }
  }

  /** The subscriber worker running now, if any (for tests). */
  get worker(): Worker | undefined {
    return this.#sub?.kind === 'worker' ? this.#sub.host.worker : undefined
  }

  async close(): Promise<void> {
    for (const w of [...this.#waiters]) w.fail(new Error('keyward/redis: the invalidation bus was closed'))
    this.#caches.clear()
    await this.#stop()
  }
}
