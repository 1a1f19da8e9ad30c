/**
 * The invalidation bus's subscriber, in a `worker_threads` worker (its own build entry,
 * `dist/bus-worker.js`/`.cjs`). ioredis parses every reply here, messages are decoded and
 * authenticated here, and unreadable ones are counted here, so a flood on the channel costs the
 * main thread nothing but the coalesced outcome: at most one batch per {@link FLUSH_GAP_MS} (the
 * changes to apply, each id once; the latest heartbeat of this bus), at most one clear per
 * `outageClearMs` for unreadable messages, and the connection's ups and downs, in order.
 *
 * Protocol (see `_bus-host.ts`): `workerData` is a {@link WorkerSetup}; the worker posts
 * {@link WorkerEvent}s and stops when it receives `{ t: 'stop' }`.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads'
import { Redis, type RedisOptions } from 'ioredis'
import type { StoreChange } from '../types.js'
import { createSuspectGate } from './_bus-inbox.js'
import { startReceiver, SUBSCRIBER_OPTIONS } from './_bus-receive.js'

/** What the main thread hands the worker. */
export interface WorkerSetup {
  /** The client's connection options that differ from ioredis's defaults (all cloneable). */
  readonly options: Record<string, unknown>
  readonly channel: string
  readonly secret: Uint8Array | undefined
  readonly nonce: string
  readonly heartbeatMs: number
  readonly outageClearMs: number
}

/** What the worker posts to the main thread. */
export type WorkerEvent =
  | { t: 'boot' }
  | { t: 'up' }
  | { t: 'down' }
  | { t: 'batch'; changes: StoreChange[]; beat: number | undefined; overflow: boolean; messages: number }
  | { t: 'clear'; count: number; messages: number }
  | { t: 'error'; message: string }
  | { t: 'count'; messages: number }
  | { t: 'stopped' }

/** Shortest time between two batches: what a flood costs the main thread is one batch per gap. */
export const FLUSH_GAP_MS = 2
/** How often the worker tells the main thread how many messages it has read, when that changed (for `counters`; not a handoff). */
export const COUNT_MS = 100
/** Distinct changes in one batch; beyond, the batch is a clear of every cache (which covers them all). */
export const MAX_BATCH = 256

function main(port: NonNullable<typeof parentPort>, setup: WorkerSetup): void {
  const post = (e: WorkerEvent): void => port.postMessage(e)
  const pending = new Map<string, StoreChange>()
  let beat: number | undefined
  let overflow = false
  let scheduled: ReturnType<typeof setTimeout> | undefined
  let lastFlush = -Infinity

  const flush = (): void => {
    if (scheduled !== undefined) clearTimeout(scheduled)
    scheduled = undefined
    if (pending.size === 0 && beat === undefined && !overflow) return
    lastFlush = performance.now()
    post({ t: 'batch', changes: overflow ? [] : [...pending.values()], beat, overflow, messages: receiver.messages })
    pending.clear()
    beat = undefined
    overflow = false
  }
  const schedule = (): void => {
    if (scheduled === undefined) scheduled = setTimeout(flush, Math.max(0, lastFlush + FLUSH_GAP_MS - performance.now()))
  }
  const add = (c: StoreChange): void => {
    if (overflow) return
    const k = `${c.type}\u0000${c.id}`
    const old = pending.get(k)
    if (old?.type === 'key' && c.type === 'key') pending.set(k, { type: 'key', id: c.id, hashes: [...new Set([...old.hashes, ...c.hashes])] })
    else if (old === undefined && pending.size >= MAX_BATCH) {
      overflow = true
      pending.clear()
    } else pending.set(k, c)
    schedule()
  }
  // Unreadable messages: one clear per interval, decided here, so a flood of them never reaches the main thread.
  const gate = createSuspectGate(setup.outageClearMs, (count) => {
    flush()
    post({ t: 'clear', count, messages: receiver.messages })
  })

  const s = new Redis({ ...(setup.options as RedisOptions), ...SUBSCRIBER_OPTIONS })
  const receiver = startReceiver(s, setup, {
    up: () => {
      flush()
      post({ t: 'up' })
    },
    down: () => {
      flush()
      post({ t: 'down' })
    },
    change: add,
    beat: (seq) => {
      beat = seq
      schedule()
    },
    suspect: () => gate.suspect(),
    error: (e, fallback) => post({ t: 'error', message: e instanceof Error ? e.message : fallback }),
  })
  let told = 0
  const counter = setInterval(() => {
    if (receiver.messages === told) return
    told = receiver.messages
    post({ t: 'count', messages: told })
  }, COUNT_MS)
  port.on('message', (m: unknown) => {
    if ((m as { t?: unknown } | null)?.t !== 'stop') return
    clearInterval(counter)
    gate.stop()
    if (scheduled !== undefined) clearTimeout(scheduled)
    void receiver.stop().finally(() => {
      post({ t: 'stopped' })
      port.close()
    })
  })
  post({ t: 'boot' })
}

if (parentPort !== null) main(parentPort, workerData as WorkerSetup)
