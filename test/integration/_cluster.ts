/**
 * Several API server instances (`_instance.ts`, each a child process) on one Postgres schema and
 * one Redis, started and driven from the parent: the multi-instance test and
 * `npm run bench:revocation` share them.
 *
 * A process can host several configurations, one after the other or at once
 * ({@link forkProcesses}, then {@link startScenario} per configuration), so a test of three
 * configurations on three instances starts three processes, not nine; {@link startInstances}
 * does both for one configuration.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { httpGet } from '../_support/http-get.js'
import type { Config } from './_instance.js'

const INSTANCE_FILE = fileURLToPath(new URL('./_instance.ts', import.meta.url))

/** One configuration running on one instance: its process, its port, and a request/reply over its IPC channel. */
export interface Child {
  proc: ChildProcess
  port: number
  /** Sends `message` to this configuration and resolves with its first reply of type `reply` (rejects on `error`). */
  request<T>(message: object, reply: string): Promise<T>
}

/** A configuration as the parent gives it: `Config` but for what each instance gets from the cluster. */
export type ScenarioConfig = Omit<Config, 'index' | 'timeoutMs'>

/** Where the instances keep their state, and how they decide (see `Config`), and how many there are. */
export interface ClusterOptions extends ScenarioConfig {
  instances: number
}

type Reply = { type: string; scenario?: string; message?: string }

/** Sends `message` to `scenario` on `proc`; resolves with that scenario's first reply of type `reply`. */
function command<T>(proc: ChildProcess, label: string, scenario: string, message: object, reply: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const on = (m: Reply) => {
      if (m.scenario !== undefined && m.scenario !== scenario) return
      if (m.type === reply || m.type === 'error') {
        proc.off('message', on)
        if (m.type === 'error') reject(new Error(`${label}: ${m.message}`))
        else resolve(m as T)
      }
    }
    proc.on('message', on)
    proc.send({ ...message, scenario })
  })
}

function forkOne(i: number, procs: ChildProcess[]): Promise<ChildProcess> {
  const proc = fork(INSTANCE_FILE, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  procs.push(proc)
  return new Promise<ChildProcess>((resolve, reject) => {
    // A liveness limit for an instance that never comes up (a loaded machine takes seconds).
    const timer = setTimeout(() => reject(new Error(`instance ${i} did not start`)), 90_000)
    proc.once('exit', (code) => reject(new Error(`instance ${i} exited with ${code}`)))
    proc.on('message', (m: Reply) => {
      if (m.type === 'ready') {
        clearTimeout(timer)
        resolve(proc)
      }
    })
  })
}

/** Forks `n` instance processes, hosting nothing yet; if one fails to start, all are killed and the first failure thrown. */
export async function forkProcesses(n: number): Promise<ChildProcess[]> {
  const procs: ChildProcess[] = []
  const started = await Promise.allSettled(Array.from({ length: n }, (_, i) => forkOne(i, procs)))
  const failed = started.find((r) => r.status === 'rejected')
  if (failed === undefined) return procs
  killProcesses(procs)
  throw failed.reason
}

/** Starts the configuration `o` on every process of `procs` (instance `i` on `procs[i]`). */
export async function startScenario(procs: readonly ChildProcess[], o: ScenarioConfig): Promise<Child[]> {
  const scenario = randomBytes(4).toString('hex')
  return Promise.all(
    procs.map(async (proc, i) => {
      const label = `instance ${i}`
      const config: Config = { ...o, index: i, timeoutMs: 30_000 }
      const { port } = await command<{ port: number }>(proc, label, scenario, { type: 'start', config }, 'started')
      const request = <T>(message: object, reply: string): Promise<T> => command<T>(proc, label, scenario, message, reply)
      return { proc, port, request }
    }),
  )
}

/** Stops a configuration on every instance it runs on: servers closed, connections ended; the processes stay. */
export async function stopScenario(children: readonly Child[]): Promise<void> {
  await Promise.all(children.map((c) => (c.proc.exitCode === null ? c.request({ type: 'stop' }, 'stopped') : undefined)))
}

/** Ends the processes: each exits once its configurations are stopped, or is killed after 5 s. */
export async function closeProcesses(procs: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map(
      (proc) =>
        new Promise<void>((resolve) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return resolve()
          const timer = setTimeout(() => proc.kill('SIGKILL'), 5000)
          proc.once('exit', () => {
            clearTimeout(timer)
            resolve()
          })
          proc.send({ type: 'close' })
        }),
    ),
  )
}

function killProcesses(procs: readonly ChildProcess[]): void {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL')
}

/** Starts `o.instances` processes running the one configuration `o`. */
export async function startInstances(o: ClusterOptions): Promise<Child[]> {
  const { instances, ...config } = o
  const procs = await forkProcesses(instances)
  try {
    return await startScenario(procs, config)
  } catch (e) {
    killProcesses(procs)
    throw e
  }
}

/** Stops what {@link startInstances} started. */
export async function stopInstances(children: readonly Child[]): Promise<void> {
  await stopScenario(children)
  await closeProcesses(children.map((c) => c.proc))
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
