/**
 * The main thread's side of the subscriber worker (`_bus-worker.ts`): whether a client can be
 * handed to a worker at all, where the worker's file is, and the translation of its events.
 *
 * A worker gets the client's connection options by structured clone (the HTML standard's
 * algorithm, which `postMessage` uses), so a client whose options hold functions (a custom
 * `retryStrategy`, a `Connector`), sockets or TLS contexts, and a `Cluster`, stay in the main
 * thread; so does a bundle that left the worker's file out.
 * @module
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Redis } from 'ioredis'
import type { StoreChange } from '../types.js'
import type { WorkerEvent, WorkerSetup } from './_bus-worker.js'

/** The options ioredis fills in for every client, and the ones the subscriber sets itself: never copied. */
const NOT_COPIED: ReadonlySet<string> = new Set(['lazyConnect', 'autoResubscribe', 'enableOfflineQueue', 'maxRetriesPerRequest'])

/**
 * The client's options that the worker must repeat (those that differ from a fresh client's), or
 * the reason why the client cannot be handed over. Never includes option values in the reason.
 */
export function workerOptions(redis: Redis): Record<string, unknown> | string {
  const r = redis as unknown as { isCluster?: unknown; options?: unknown }
  if (r.isCluster === true) return 'the client is a Cluster'
  // The worker imports ioredis as this module resolves it: the client must be of that copy, so
  // that what the worker fills in by default is what the client was given by default.
  let Client: { defaultOptions?: Record<string, unknown>; prototype: object }
  try {
    Client = (createRequire(here()) as (id: string) => { Redis: typeof Client })('ioredis').Redis
  } catch {
    return 'ioredis cannot be loaded from keyward/redis'
  }
  if (!(redis instanceof (Client as unknown as new () => object)) || r.options === null || typeof r.options !== 'object') return 'the client is not an ioredis Redis of the copy keyward/redis loads'
  const defaults = Client.defaultOptions ?? {}
  const options = r.options as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(options)) {
    if (NOT_COPIED.has(k) || Object.is(options[k], defaults[k])) continue
    out[k] = options[k]
  }
  try {
    structuredClone(out)
  } catch {
    return 'its options hold values a worker cannot receive (functions, sockets, TLS contexts)'
  }
  return out
}

/** How to start the worker: its built file next to this one, or (running from the TypeScript sources, as tests do) code bundled from them. */
type WorkerSource = { file: string } | { code: string }

/** This file's URL: the CommonJS build has __filename; the ES module build and the sources have import.meta.url. */
function here(): string {
  return typeof __filename === 'string' ? pathToFileURL(__filename).href : import.meta.url
}

function workerSource(): WorkerSource | undefined {
  const url = here()
  if (url.endsWith('.ts')) return sourceWorker(url)
  const file = join(dirname(fileURLToPath(url)), url.endsWith('.cjs') ? 'bus-worker.cjs' : 'bus-worker.js')
  return existsSync(file) ? { file } : undefined
}

let fromSources: WorkerSource | undefined

/**
 * Running from the TypeScript sources (the tests do): the worker is bundled once with esbuild, a
 * development dependency, and run as code; a package never takes this path (it has the built file).
 */
function sourceWorker(url: string): WorkerSource | undefined {
  if (fromSources !== undefined) return fromSources
  try {
    const require = createRequire(url)
    const esbuild = require('esbuild') as { buildSync(o: object): { outputFiles: { text: string }[] } }
    const built = esbuild.buildSync({ entryPoints: [fileURLToPath(new URL('./_bus-worker.ts', url))], bundle: true, format: 'cjs', platform: 'node', target: 'node20', write: false, external: ['ioredis'] })
    const code = built.outputFiles[0]!.text.replaceAll('require("ioredis")', `require(${JSON.stringify(require.resolve('ioredis'))})`)
    fromSources = { code }
  } catch {
    return undefined
  }
  return fromSources
}

/** What the worker's events become on the main thread. */
export interface HostEvents {
  up(): void
  down(): void
  batch(changes: readonly StoreChange[], beat: number | undefined, overflow: boolean): void
  clear(count: number): void
  error(e: Error): void
  /** The worker died after it started (or could not start: `booted` false). Called once. */
  failed(e: Error, booted: boolean): void
}

/** A running worker. */
export interface WorkerHost {
  readonly worker: Worker
  /** Messages the worker read off the channel, as of its last report. */
  readonly messages: number
  /** Events the main thread handled for them. */
  readonly handoffs: number
  /** Asks the worker to close its connection, then terminates it (at most 1.5 s). */
  stop(): Promise<void>
}

/** Starts a subscriber worker, or returns why it cannot. */
export function startWorker(setup: WorkerSetup, on: HostEvents): WorkerHost | string {
  const src = workerSource()
  if (src === undefined) return 'the worker file (bus-worker.js) is not next to keyward/redis'
  const worker = 'file' in src ? new Worker(src.file, { workerData: setup }) : new Worker(src.code, { eval: true, workerData: setup })
  let booted = false
  let stopping = false
  let failed = false
  let messages = 0
  let handoffs = 0
  const fail = (e: Error): void => {
    if (failed || stopping) return
    failed = true
    on.failed(e, booted)
  }
  worker.on('message', (m: WorkerEvent) => {
    if (failed || stopping) return
    switch (m.t) {
      case 'boot':
        booted = true
        return
      case 'up':
        return on.up()
      case 'down':
        return on.down()
      case 'batch':
        handoffs++
        messages = m.messages
        return on.batch(m.changes, m.beat, m.overflow)
      case 'clear':
        handoffs++
        messages = m.messages
        return on.clear(m.count)
      case 'error':
        return on.error(new Error(m.message))
      case 'count':
        messages = m.messages
        return
    }
  })
  worker.on('error', (e: unknown) => fail(e instanceof Error ? e : new Error('keyward/redis: subscriber worker failed')))
  worker.on('exit', (code) => fail(new Error(`keyward/redis: subscriber worker exited (code ${code})`)))
  // Never keeps the process alive; after the listeners, since adding a 'message' listener refs the worker again.
  worker.unref()
  return {
    worker,
    get messages(): number {
      return messages
    },
    get handoffs(): number {
      return handoffs
    },
    async stop(): Promise<void> {
      if (stopping) return
      stopping = true
      const exited = new Promise<void>((resolve) => {
        worker.once('exit', () => resolve())
        setTimeout(resolve, 1500).unref?.()
      })
      try {
        worker.postMessage({ t: 'stop' })
      } catch {
        // Already gone.
      }
      await exited
      await worker.terminate()
    },
  }
}
