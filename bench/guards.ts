/**
 * Guards section of `npm run bench`: what each adapter adds to `authorize()` per request, in
 * process, without sockets or a framework's own request handling.
 *
 * Each guard is called with the objects its framework hands it, reduced to the fields the guard
 * reads (a Node request with its `rawHeaders` and socket; Koa's `ctx`; Hono's `c` over
 * `@hono/node-server`'s `incoming`; Fastify's `request`/`reply`), and awaited until it passes
 * the request on. The same allowed request also goes to `authorize()` alone. Rounds interleave
 * every case (order reversed every other round); a case's cost is this process's CPU time per
 * call, and "beyond authorize()" is a guard's cost minus `authorize()`'s in the same round,
 * median over rounds. On a machine shared with other work this stays comparable where the
 * HTTP section's per-request server CPU does not: there is no kernel, no load generator and no
 * other process in the measured path.
 * @module
 */
import { guard as expressGuard } from '../src/adapters/express.js'
import { guard as fastifyGuard } from '../src/adapters/fastify.js'
import { guard as honoGuard } from '../src/adapters/hono.js'
import { guard as koaGuard } from '../src/adapters/koa.js'
import { createAuthorizer } from '../src/authorize.js'
import { KeyManager } from '../src/stores/manager.js'
import { MemoryKeyStore } from '../src/stores/memory.js'
import type { Decision } from '../src/types.js'
import type { BenchSection } from './run.js'

const ROUNDS = 15
const WARM_ROUNDS = 2
const BATCH = 5_000
const KEYS = 10_000
/** What a client such as `wrk` or a browser sends, the key last. */
const FIELDS = ['Host', '127.0.0.1:8080', 'User-Agent', 'bench/1.0', 'Accept', '*/*', 'Accept-Encoding', 'gzip', 'Connection', 'keep-alive', 'X-Request-Id', 'abc123']

type Op = () => Promise<unknown>
const CASES = ['authorize()', 'Express guard', 'Koa guard', 'Hono guard', 'Fastify hook'] as const
type CaseName = (typeof CASES)[number]

/** CPU time of this process, microseconds. */
const cpuNow = (): number => {
  const u = process.cpuUsage()
  return u.user + u.system
}

// The stubs are typed loosely on purpose: each holds only what its guard reads.
async function setup(): Promise<Record<CaseName, Op>> {
  const store = new MemoryKeyStore()
  const manager = new KeyManager(store)
  for (let i = 0; i < KEYS - 1; i++) await manager.issue({ kind: 'user', owner: `user${i}`, role: 'Read Write' })
  const { key } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
  // Defaults, as the HTTP section's servers use them (last-used times on, breaker on).
  const authorizer = createAuthorizer({ store })
  const rawHeaders = [...FIELDS, 'X-Api-Key', key]
  const node = () => ({ method: 'GET', url: '/scans', originalUrl: '/scans', headers: { accept: '*/*' }, rawHeaders, socket: { remoteAddress: '127.0.0.1' } })
  const need = authorizer.need('scans:read')
  const express = expressGuard(authorizer)('scans:read') as any
  const koa = koaGuard(authorizer)('scans:read') as any
  const hono = honoGuard(authorizer)('scans:read') as any
  const fastify = fastifyGuard(authorizer)('scans:read') as any
  const res = { setHeader() {} }
  const reply = { headers: () => reply }
  const passed = async (): Promise<void> => {}
  const ops: Record<CaseName, Op> = {
    'authorize()': () => authorizer.authorize({ method: 'GET', url: '/scans', headers: rawHeaders, remoteAddress: '127.0.0.1', secure: false }, need),
    'Express guard': () => new Promise<void>((resolve) => express(node(), res, resolve)),
    'Koa guard': () => koa({ req: node(), method: 'GET', originalUrl: '/scans', state: {}, set() {} }, passed),
    'Hono guard': () => hono({ req: { raw: { method: 'GET' }, path: '/scans' }, env: { incoming: node() }, set() {}, header() {} }, passed),
    'Fastify hook': () => new Promise<void>((resolve) => fastify.call(undefined, { method: 'GET', raw: node(), principal: null }, reply, resolve)),
  }
  // Each must allow: a deny would measure another path.
  const d = (await ops['authorize()']()) as Decision
  if (!d.allow) throw new Error(`bench setup: the key should be allowed, got ${d.status} ${d.reason}`)
  return ops
}

async function perCall(op: Op): Promise<number> {
  const t = cpuNow()
  for (let i = 0; i < BATCH; i++) await op()
  return ((cpuNow() - t) * 1000) / BATCH
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}
const quartiles = (xs: readonly number[]): [number, number] => {
  const s = [...xs].sort((a, b) => a - b)
  return [s[Math.floor(s.length / 4)]!, s[Math.floor((3 * s.length) / 4)]!]
}

export async function run(): Promise<BenchSection> {
  const ops = await setup()
  const ns = new Map<CaseName, number[]>(CASES.map((c) => [c, []]))
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? CASES : [...CASES].reverse()
    for (const c of order) {
      const x = await perCall(ops[c])
      if (r >= WARM_ROUNDS) ns.get(c)!.push(x)
    }
  }
  const core = ns.get('authorize()')!
  const rows = CASES.map((c) => {
    const xs = ns.get(c)!
    const [lo, hi] = quartiles(xs)
    const beyond = c === 'authorize()' ? '—' : `+${Math.round(median(xs.map((x, i) => x - core[i]!)))}`
    return `| ${c} | ${Math.round(median(xs))} | ${beyond} | ${Math.round(lo)}–${Math.round(hi)} |`
  })
  return {
    title: 'Guards: what each adapter adds to authorize(), in process',
    table: ['| case | ns/call | beyond authorize() ns | p25–p75 ns/call |', '|---|---:|---:|---:|', ...rows].join('\n'),
    notes: [
      `${ROUNDS - WARM_ROUNDS} interleaved rounds (after ${WARM_ROUNDS} warm-up rounds) of ${BATCH} awaited calls per case; CPU time (process.cpuUsage) per call; medians over rounds, the spread as the quartiles of the rounds.`,
      `Setup: ${KEYS} keys in a MemoryKeyStore, the route needs \`scans:read\`, default options (last-used times, breaker); ${FIELDS.length / 2 + 1} request fields, X-Api-Key last. Each guard gets its framework's objects reduced to what it reads, so framework work (routing, ctx.set internals, writing the response) is not counted: the HTTP section counts it.`,
    ],
  }
}
