/**
 * The in-process half of `bench/attribution.ts`: each guard with the real authorizer, each guard
 * over an authorizer that answers the same allowed decision from a settled promise (the guard's
 * own work alone), and `authorize()` alone; CPU time per call and bytes allocated per call.
 *
 * Bytes: after a full collection, a batch of awaited calls runs and the growth of V8's young
 * generation (`new_space`) is divided by the batch; a batch during which a scavenge ran (the
 * young generation shrank) is dropped; the cost of the awaiting loop itself (an op that returns
 * a settled promise) is subtracted. Median over batches.
 * @module
 */
import v8 from 'node:v8'
import vm from 'node:vm'
import { guard as expressGuard } from '../src/adapters/express.js'
import { guard as fastifyGuard } from '../src/adapters/fastify.js'
import { guard as honoGuard } from '../src/adapters/hono.js'
import { guard as koaGuard } from '../src/adapters/koa.js'
import type { GuardAuthorizer } from '../src/adapters/_shared.js'
import { createAuthorizer } from '../src/authorize.js'
import { KeyManager } from '../src/stores/manager.js'
import { MemoryKeyStore } from '../src/stores/memory.js'
import type { Decision } from '../src/types.js'
import { median, quartiles } from './_wrk.js'

const KEYS = 10_000
const ROUNDS = 13
const WARM_ROUNDS = 2
const BATCH = 5_000
const ALLOC_BATCH = 64
const ALLOC_SAMPLES = 31
/** What `wrk` sends, the key last. */
const FIELDS = ['Host', '127.0.0.1:8080', 'User-Agent', 'bench/1.0', 'Accept', '*/*', 'Accept-Encoding', 'gzip', 'Connection', 'keep-alive', 'X-Request-Id', 'abc123']

type Op = () => Promise<unknown>
const GUARDS = ['Express', 'Koa', 'Hono', 'Fastify'] as const
type Guard = (typeof GUARDS)[number]

/** One in-process case's result. */
export interface InProcessRow {
  readonly name: string
  readonly ns: number
  readonly spread: readonly [number, number]
  readonly bytes: number
}

function guardOps(a: GuardAuthorizer, rawHeaders: readonly string[]): Record<Guard, Op> {
  const node = () => ({ method: 'GET', url: '/scans', originalUrl: '/scans', headers: { accept: '*/*' }, rawHeaders, socket: { remoteAddress: '127.0.0.1' } })
  // Typed loosely on purpose: each stub holds only what its guard reads.
  const express = expressGuard(a)('scans:read') as any
  const koa = koaGuard(a)('scans:read') as any
  const hono = honoGuard(a)('scans:read') as any
  const fastify = fastifyGuard(a)('scans:read') as any
  const res = { setHeader() {} }
  const reply = { headers: () => reply }
  const passed = async (): Promise<void> => {}
  return {
    Express: () => new Promise<void>((resolve) => express(node(), res, resolve)),
    Koa: () => koa({ req: node(), method: 'GET', originalUrl: '/scans', state: {}, set() {} }, passed),
    Hono: () => hono({ req: { raw: { method: 'GET' }, path: '/scans' }, env: { incoming: node() }, set() {}, header() {} }, passed),
    Fastify: () => new Promise<void>((resolve) => fastify.call(undefined, { method: 'GET', raw: node(), principal: null }, reply, resolve)),
  }
}

async function setup(): Promise<Map<string, Op>> {
  const store = new MemoryKeyStore()
  const manager = new KeyManager(store)
  for (let i = 0; i < KEYS - 1; i++) await manager.issue({ kind: 'user', owner: `user${i}`, role: 'Read Write' })
  const { key } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
  // Defaults, as the HTTP servers use them (last-used times on, breaker on).
  const authorizer = createAuthorizer({ store })
  const rawHeaders = [...FIELDS, 'X-Api-Key', key]
  const need = authorizer.need('scans:read')
  const authorize = () => authorizer.authorize({ method: 'GET', url: '/scans', headers: rawHeaders, remoteAddress: '127.0.0.1', secure: false }, need)
  const d = (await authorize()) as Decision
  if (!d.allow) throw new Error(`bench setup: the key should be allowed, got ${d.status} ${d.reason}`)
  const settled = Promise.resolve(d)
  const answered: GuardAuthorizer = { need: (n) => authorizer.need(n as Parameters<typeof authorizer.need>[0]), authorize: () => settled }
  const real = guardOps(authorizer, rawHeaders)
  const glue = guardOps(answered, rawHeaders)
  const ops = new Map<string, Op>([['authorize()', authorize]])
  for (const g of GUARDS) {
    ops.set(`${g} guard, decision answered (its own work)`, glue[g])
    ops.set(`${g} guard`, real[g])
  }
  return ops
}

const cpuNow = (): number => {
  const u = process.cpuUsage()
  return u.user + u.system
}

async function nsPerCall(op: Op): Promise<number> {
  const t = cpuNow()
  for (let i = 0; i < BATCH; i++) await op()
  return ((cpuNow() - t) * 1000) / BATCH
}

const newSpace = (): number => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? NaN

/** Bytes the young generation grew by per awaited call, median over batches without a scavenge. */
async function grownPerCall(op: Op, gc: () => void): Promise<number> {
  const xs: number[] = []
  for (let k = 0; k < ALLOC_SAMPLES; k++) {
    gc()
    const before = newSpace()
    for (let i = 0; i < ALLOC_BATCH; i++) await op()
    const after = newSpace()
    if (after >= before) xs.push((after - before) / ALLOC_BATCH)
  }
  return xs.length > 0 ? median(xs) : NaN
}

/** A full collection on demand, without starting node with `--expose-gc`. */
function fullGc(): () => void {
  v8.setFlagsFromString('--expose-gc')
  return vm.runInNewContext('gc') as () => void
}

/** Runs every in-process case: interleaved rounds of CPU time, then the allocation batches. */
export async function inProcess(): Promise<InProcessRow[]> {
  const ops = await setup()
  const names = [...ops.keys()]
  const ns = new Map<string, number[]>(names.map((n) => [n, []]))
  for (let r = 0; r < ROUNDS; r++) {
    for (const n of r % 2 === 0 ? names : [...names].reverse()) {
      const x = await nsPerCall(ops.get(n)!)
      if (r >= WARM_ROUNDS) ns.get(n)!.push(x)
    }
  }
  const gc = fullGc()
  const settled = Promise.resolve()
  const loop = await grownPerCall(() => settled, gc)
  const rows: InProcessRow[] = []
  for (const n of names) {
    const bytes = (await grownPerCall(ops.get(n)!, gc)) - loop
    rows.push({ name: n, ns: median(ns.get(n)!), spread: quartiles(ns.get(n)!), bytes })
  }
  return rows
}
