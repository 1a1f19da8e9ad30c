/**
 * Several API server instances (`_instance.ts`, each a child process) on one Postgres schema and
 * one Redis, started and driven from the parent: the multi-instance test and
 * `npm run bench:revocation` share them.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { httpGet } from '../_support/http-get.js'

const INSTANCE_FILE = fileURLToPath(new URL('./_instance.ts', import.meta.url))

/** One running instance: its process, its port, and a request/reply over its IPC channel. */
export interface Child {
  proc: ChildProcess
  port: number
  /** Sends `message` and resolves with the first reply of type `reply` (rejects on `error`). */
  request<T>(message: object, reply: string): Promise<T>
}

/** Where the instances keep their state, and how they decide. */
export interface ClusterOptions {
  /** `cached`: cachedStore over Postgres, invalidated over Redis; `pg`: Postgres on every request. */
  mode: 'cached' | 'pg'
  pgUrl: string
  redisUrl: string
  schema: string
  /** The invalidation channel. */
  channel: string
  /** Prefix of the rate limiter's Redis keys. */
  prefix: string
  /** When set, credits are kept in a Redis ledger under this prefix. */
  creditsPrefix?: string
  instances: number
}

function startOne(o: ClusterOptions, i: number, procs: ChildProcess[]): Promise<Child> {
  const proc = fork(INSTANCE_FILE, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, KEYWARD_PG_URL: o.pgUrl, KEYWARD_REDIS_URL: o.redisUrl, KW_SCHEMA: o.schema, KW_CHANNEL: o.channel, KW_RL_PREFIX: o.prefix, KW_MODE: o.mode, KW_INDEX: String(i), KW_CREDITS_PREFIX: o.creditsPrefix ?? '', KW_TIMEOUT_MS: '30000' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  procs.push(proc)
  const request = <T>(message: object, reply: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const on = (m: { type: string; message?: string }) => {
        if (m.type === reply || m.type === 'error') {
          proc.off('message', on)
          if (m.type === 'error') reject(new Error(`instance ${i}: ${m.message}`))
          else resolve(m as T)
        }
      }
      proc.on('message', on)
      proc.send(message)
    })
  return new Promise<Child>((resolve, reject) => {
    // A liveness limit for an instance that never comes up (a loaded machine takes seconds).
    const timer = setTimeout(() => reject(new Error(`instance ${i} did not start`)), 90_000)
    proc.once('exit', (code) => reject(new Error(`instance ${i} exited with ${code}`)))
    proc.on('message', (m: { type: string; port?: number }) => {
      if (m.type === 'ready') {
        clearTimeout(timer)
        resolve({ proc, port: m.port!, request })
      }
    })
  })
}

/** Starts `o.instances` instances; if one fails to start, the others are killed and the first failure thrown. */
export async function startInstances(o: ClusterOptions): Promise<Child[]> {
  const procs: ChildProcess[] = []
  const started = await Promise.allSettled(Array.from({ length: o.instances }, (_, i) => startOne(o, i, procs)))
  const failed = started.find((r) => r.status === 'rejected')
  if (failed === undefined) return started.map((r) => (r as PromiseFulfilledResult<Child>).value)
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL')
  throw failed.reason
}

export async function stopInstances(children: Child[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.proc.exitCode !== null) return resolve()
          const timer = setTimeout(() => c.proc.kill('SIGKILL'), 5000)
          c.proc.once('exit', () => {
            clearTimeout(timer)
            resolve()
          })
          c.proc.send({ type: 'close' })
        }),
    ),
  )
}

/** One decision of an instance, as its response tells it. */
export interface Answer {
  status: number
  /** When the instance began deciding: wall-clock ms on this machine (for measurements only). */
  decided: number
  /** Where the instance began deciding in the order of its own events (see `_instance.ts`). */
  seq: number
}

/** Asks the instance on `port` to authorize `key` for `scans:read`. */
export async function ask(port: number, key: string): Promise<Answer> {
  const res = await httpGet(`http://127.0.0.1:${port}/scans`, { 'x-api-key': key })
  return { status: res.status, decided: Number(res.headers['x-decided-at']), seq: Number(res.headers['x-decided-seq']) }
}
