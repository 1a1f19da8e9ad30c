/**
 * The invalidation bus's public shapes and its options, validated at construction (unknown fields
 * refused, every value checked, the secret at least 32 bytes).
 * @module
 */
import type { Redis } from 'ioredis'
import { knownFields } from '../lib/options.js'
import { rangeError, typeError } from '../errors.js'
import type { CachedStore } from '../stores/cached.js'
import type { StoreChange } from '../types.js'

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
  /**
   * Where the subscriber reads the channel. `'worker'`: in a `worker_threads` worker, which
   * parses, authenticates and coalesces messages and hands the main thread only their outcome
   * (the changes to apply, each id once, at most one batch every 2 ms; at most one clear per
   * `outageClearMs` for unreadable messages), so a flood on the channel never holds requests up.
   * `'thread'`: in the main thread, where ioredis parses a flood's replies in one go. `'auto'`
   * uses the worker when the client can be handed to one (its options can be copied to a worker:
   * no functions such as a custom `retryStrategy`, no sockets or TLS contexts; not a `Cluster`;
   * the worker file `bus-worker.js` is next to `keyward/redis`, which a bundler may leave out),
   * and the main thread otherwise; `subscriber` on the bus tells which one is in effect.
   * `'worker'` throws at construction when the client cannot be handed over.
   * @default 'auto'
   * @example 'worker'
   */
  subscriber?: 'auto' | 'worker' | 'thread'
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
  /**
   * Where the subscriber runs (see the `subscriber` option): `'worker'` off the main thread, or
   * `'thread'` in it (chosen, or the fallback when the client cannot be handed to a worker, or
   * when the worker could not start). A worker that dies is replaced after `outageClearMs`;
   * meanwhile the bus is `down` and caches are cleared as in an outage.
   */
  readonly subscriber: 'worker' | 'thread'
  /**
   * `messages`: messages read off the channel so far; `handoffs`: how many times the main thread
   * handled them (one per message in the thread subscriber; one per batch or clear with the worker).
   */
  readonly counters: { readonly messages: number; readonly handoffs: number }
  /** Detaches every cache and closes the subscriber connection. The `redis` client passed in is yours and stays open. */
  close(): Promise<void>
}

/** The validated options, with defaults applied. */
export interface BusConfig {
  readonly channel: string
  readonly publishHashes: boolean
  readonly heartbeatMs: number
  readonly outageClearMs: number
  readonly connectTimeoutMs: number
  readonly secret: Uint8Array | undefined
  readonly onError: ((error: Error) => void) | undefined
  readonly onStateChange: ((state: 'up' | 'down') => void) | undefined
  readonly subscriber: 'auto' | 'worker' | 'thread'
}

const FIELDS: ReadonlySet<string> = new Set(['channel', 'publishHashes', 'heartbeatMs', 'outageClearMs', 'connectTimeoutMs', 'secret', 'onError', 'onStateChange', 'subscriber'])
const SUBSCRIBERS: ReadonlySet<unknown> = new Set(['auto', 'worker', 'thread'])
const TYPES: ReadonlySet<string> = new Set(['key', 'group', 'owner'])

function ms(v: unknown, field: string, fallback: number, min: number): number {
  if (v === undefined) return fallback
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > 3_600_000) {
    throw rangeError(field, `must be a number of milliseconds from ${min} to 3600000`)
  }
  return v
}

/** The `secret` option as bytes (at least 32, like a pepper), or `undefined`. */
function secretBytes(v: unknown): Uint8Array | undefined {
  if (v === undefined) return undefined
  const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : v instanceof Uint8Array ? v : undefined
  if (bytes === undefined) throw typeError('secret', 'must be a string or a Uint8Array')
  if (bytes.length < 32) throw rangeError('secret', 'must be at least 32 bytes')
  return Uint8Array.from(bytes)
}


/** A change `publish()` accepts. */
export function validChange(c: unknown): c is StoreChange {
  if (c === null || typeof c !== 'object') return false
  const o = c as Record<string, unknown>
  if (typeof o.type !== 'string' || !TYPES.has(o.type) || typeof o.id !== 'string') return false
  return o.type !== 'key' || (Array.isArray(o.hashes) && o.hashes.every((h) => typeof h === 'string'))
}

/** Checks `redis` and `options`; throws `TypeError`/`RangeError` naming the field. */
export function busConfig(redis: Redis, options: RedisInvalidationOptions): BusConfig {
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
  const subscriber = options.subscriber ?? 'auto'
  if (!SUBSCRIBERS.has(subscriber)) throw rangeError('subscriber', "must be 'auto', 'worker' or 'thread'")
  return { channel, publishHashes, heartbeatMs, outageClearMs, connectTimeoutMs, secret: secretBytes(options.secret), onError, onStateChange, subscriber }
}
