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
import type { Worker } from 'node:worker_threads'
import type { Redis } from 'ioredis'
import { typeError } from '../errors.js'
import type { StoreChange } from '../types.js'
import { busConfig, type InvalidationTarget, type RedisInvalidation, type RedisInvalidationOptions } from './_bus-options.js'
import { BusCore } from './_bus-core.js'
import { workerOptions } from './_bus-host.js'

export type { InvalidationTarget, RedisInvalidation, RedisInvalidationOptions } from './_bus-options.js'

/** The worker of each bus that runs one, for tests that make it fail. */
const workers = new WeakMap<RedisInvalidation, () => Worker | undefined>()

/** The subscriber worker a bus is running now, if any (internal: for tests). */
export function subscriberWorker(bus: RedisInvalidation): Worker | undefined {
  return workers.get(bus)?.()
}

/** Implementation of `redisInvalidation` (see `keyward/redis`). */
export function createRedisInvalidation(redis: Redis, options: RedisInvalidationOptions = {}): RedisInvalidation {
  const config = busConfig(redis, options)
  const handover = config.subscriber === 'thread' ? 'the thread subscriber was chosen' : workerOptions(redis)
  if (config.subscriber === 'worker' && typeof handover === 'string') throw typeError('subscriber', `cannot be 'worker': ${handover}`)
  const core = new BusCore(redis, config, handover)
  // A plain object over the core, so its methods work detached (`onWrite: bus.publish`).
  const bus: RedisInvalidation = {
    publish(change: StoreChange): void {
      core.publish(change)
    },
    attach(cache: InvalidationTarget): Promise<() => Promise<void>> {
      return core.attach(cache)
    },
    get state(): 'up' | 'down' | 'idle' {
      return core.state
    },
    get subscriber(): 'worker' | 'thread' {
      return core.subscriber
    },
    get counters(): { messages: number; handoffs: number } {
      return core.counters
    },
    async close(): Promise<void> {
      await core.close()
    },
  }
  workers.set(bus, () => core.worker)
  return bus
}
