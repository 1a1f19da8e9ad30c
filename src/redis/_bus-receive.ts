/**
 * The invalidation bus's subscriber connection, the same in the main thread and in the worker
 * (`_bus-worker.ts`): it subscribes on every `ready`, PINGs the connection every `heartbeatMs`,
 * decodes (and, with a secret, authenticates) each message through the inbox, and tells a
 * {@link ReceiverSink} what came in. It never touches a cache itself.
 * @module
 */
import type { Redis } from 'ioredis'
import type { StoreChange } from '../types.js'
import { createInbox } from './_bus-inbox.js'
import { decode } from './_wire.js'

/** What a receiver reports; none of these may throw (each is wrapped anyway). */
export interface ReceiverSink {
  /** The subscription is confirmed: every message published from now on reaches us. */
  up(): void
  /** The connection closed, ended or stopped answering PING: anything may be missed from now on. */
  down(): void
  /** A readable (and, with a secret, authenticated) change. */
  change(change: StoreChange): void
  /** A heartbeat of this bus (`<nonce>.<seq>`); heartbeats of other buses are dropped here. */
  beat(seq: number): void
  /** One unreadable or unauthenticated message (or one dropped by a full inbox). */
  suspect(): void
  /** An error without a caller, e.g. a connection error; `fallback` when it is not an Error. */
  error(e: unknown, fallback: string): void
}

/** What {@link startReceiver} needs. */
export interface ReceiverConfig {
  readonly channel: string
  readonly secret: Uint8Array | undefined
  /** This bus's heartbeat nonce. */
  readonly nonce: string
  readonly heartbeatMs: number
}

/** A running receiver. */
export interface Receiver {
  /** Messages read off the channel so far. */
  readonly messages: number
  /** Unsubscribes and closes the connection (at most 1 s for a polite QUIT). */
  stop(): Promise<void>
}

/** The options every subscriber connection is opened with, on top of the client's. */
export const SUBSCRIBER_OPTIONS = { autoResubscribe: false, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: null } as const

/** The mutable state of one receiver. */
interface ReceiverState {
  /** Not stopped yet. */
  live: boolean
  /** The subscription is confirmed and the connection has not closed since. */
  subscribed: boolean
  /** A PING is in flight. */
  pinging: boolean
  messages: number
}

function safe(f: () => void): void {
  try {
    f()
  } catch {
    // A sink that throws must not break the subscriber.
  }
}

/** The subscription is lost: anything may be missed from now on. */
function markDown(state: ReceiverState, sink: ReceiverSink): void {
  state.subscribed = false
  if (state.live) safe(sink.down)
}

/** Tells `sink` what one message read off the channel says; heartbeats of other buses are dropped. */
function deliver(text: string, config: ReceiverConfig, state: ReceiverState, sink: ReceiverSink): void {
  if (!state.live) return
  const m = decode(text, config.secret)
  if (m === undefined) return safe(sink.suspect)
  if (m.kind === 'change') return safe(() => sink.change(m.change))
  const dot = m.beat.lastIndexOf('.')
  if (m.beat.slice(0, dot) === config.nonce) safe(() => sink.beat(Number(m.beat.slice(dot + 1))))
}

/** Subscribes on every `ready`, reports the connection's ends and errors, hands messages to `receive`, connects. */
function listen(s: Redis, channel: string, state: ReceiverState, sink: ReceiverSink, receive: (text: string) => void): void {
  const down = (): void => markDown(state, sink)
  s.on('ready', () => {
    s.subscribe(channel).then(
      () => {
        if (!state.live) return
        state.subscribed = true
        safe(sink.up)
      },
      (e: unknown) => {
        safe(() => sink.error(e, 'keyward/redis: subscribe failed'))
        if (state.live) s.disconnect(true)
      },
    )
  })
  s.on('close', down)
  s.on('end', down)
  s.on('error', (e: unknown) => safe(() => sink.error(e, 'keyward/redis: subscriber connection error')))
  s.on('message', (ch: string, text: string) => {
    state.messages++
    if (ch === channel) receive(text)
  })
  s.connect().catch((e: unknown) => safe(() => sink.error(e, 'keyward/redis: subscriber connect failed')))
}

/** One PING, at most one in flight: a connection that hangs (half-open) is reconnected. */
function ping(s: Redis, heartbeatMs: number, state: ReceiverState, sink: ReceiverSink): void {
  if (!state.subscribed || state.pinging || !state.live) return
  state.pinging = true
  let timer: ReturnType<typeof setTimeout> | undefined
  Promise.race([
    s.ping(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('keyward/redis: subscriber heartbeat timed out')), heartbeatMs)
    }),
  ])
    .catch((e: unknown) => {
      if (!state.live) return
      safe(() => sink.error(e, 'keyward/redis: subscriber heartbeat failed'))
      markDown(state, sink)
      s.disconnect(true)
    })
    .finally(() => {
      clearTimeout(timer)
      state.pinging = false
    })
}

/** Stops the heartbeat and the listeners that report, then closes `s` (at most 1 s for a polite QUIT). */
async function stopReceiver(s: Redis, state: ReceiverState, pinger: ReturnType<typeof setInterval> | undefined): Promise<void> {
  if (!state.live) return
  state.live = false
  if (pinger !== undefined) clearInterval(pinger)
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

/**
 * Runs the subscriber on `s` (created with {@link SUBSCRIBER_OPTIONS}, not yet connected). We
 * subscribe ourselves on every `ready` instead of ioredis's autoResubscribe, to know when it is done.
 */
export function startReceiver(s: Redis, config: ReceiverConfig, sink: ReceiverSink): Receiver {
  const state: ReceiverState = { live: true, subscribed: false, pinging: false, messages: 0 }
  const receive = createInbox((text) => deliver(text, config, state, sink), () => safe(sink.suspect))
  listen(s, config.channel, state, sink, receive)
  const heartbeatMs = config.heartbeatMs
  const pinger = heartbeatMs > 0 ? setInterval(() => ping(s, heartbeatMs, state, sink), heartbeatMs) : undefined
  pinger?.unref?.()
  return {
    get messages(): number {
      return state.messages
    },
    stop: () => stopReceiver(s, state, pinger),
  }
}
