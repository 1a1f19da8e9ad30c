/**
 * Core section of `npm run bench`: `authorize()` per scheme, next to a floor measured in the same
 * run (the fastest SHA-256 the runtime has plus one `Map.get` on a 10k map).
 *
 * Each tinybench iteration runs a batch of operations (`BATCH_SYNC` or `BATCH_ASYNC`), so the
 * clock's own cost is spread over the batch instead of inflating sub-microsecond cases; ns/op is the
 * median batch time divided by the batch size.
 *
 * The clock is this process's CPU time (`process.cpuUsage`, user + system) unless
 * `BENCH_CLOCK=wall`: these 2-core machines are shared, and wall time counts the time other
 * processes held the CPU, which CPU time does not. Everything measured here is single-threaded and
 * never waits on I/O, so CPU time is the cost of the operation (garbage collection included).
 * @module
 */
import { createHash, hash as nodeHash } from 'node:crypto'
import { Bench } from 'tinybench'
import { SignJWT } from 'jose'
import { createAuthorizer, type Authorizer } from '../src/authorize.js'
import { generateKey } from '../src/keys/format.js'
import { nobleHasher } from '../src/keys/_noble.js'
import { schemes } from '../src/schemes/index.js'
import type { Scheme } from '../src/schemes/_scheme.js'
import { cachedStore } from '../src/stores/cached.js'
import { KeyManager } from '../src/stores/manager.js'
import { MemoryKeyStore } from '../src/stores/memory.js'
import type { AuthRequest, Decision } from '../src/types.js'
import type { BenchSection } from './run.js'

const BATCH_SYNC = 1_000
const BATCH_ASYNC = 100
const WALL = process.env.BENCH_CLOCK === 'wall'
/** CPU time of this process in milliseconds (tinybench's unit). */
const cpuNow = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1_000
}
const KEYS = 10_000
const CLIENT = '203.0.113.9'
/** Ten IPv4 CIDRs; the client matches only the last one, so all ten are checked. */
const CIDRS = [...Array.from({ length: 9 }, (_, i) => `10.${i}.0.0/16`), '203.0.113.0/24']

interface Case {
  readonly name: string
  /** One operation; sync or async. */
  readonly op: () => unknown
  readonly async: boolean
}

interface Row {
  readonly name: string
  readonly ns: number
  /** Median over rounds of (ns/op ÷ the floor's ns/op in the same round). */
  readonly ratio: number
  /** Worst relative margin of error of the rounds. */
  readonly rme: number
  readonly samples: number
}

const batchOf = (c: Case): number => (c.async ? BATCH_ASYNC : BATCH_SYNC)

function expectDecision(d: Decision, allow: boolean, label: string): void {
  if (d.allow !== allow) throw new Error(`bench setup: ${label} should ${allow ? 'allow' : 'deny'}, got ${d.allow ? 'allow' : `${d.status} ${d.reason}`}`)
}

async function setup() {
  const store = new MemoryKeyStore()
  const manager = new KeyManager(store)
  for (let i = 0; i < KEYS - 3; i++) await manager.issue({ kind: 'user', owner: `user${i}`, role: 'Read Write' })
  const target = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write', allowedIps: CIDRS })
  const org = await manager.issue({ kind: 'tenant', tenant: 'acme' })
  const svc = await manager.issue({ kind: 'user', tenant: 'acme', owner: 'ana@acme.test', role: 'Read Write', allowedIps: CIDRS })
  return { store, target: target.key, org: org.key, svc: svc.key }
}

function keyRequest(key: string): AuthRequest {
  return { method: 'POST', url: '/scans', headers: { 'x-api-key': key }, remoteAddress: CLIENT }
}

async function jwtCases(): Promise<{ cases: Case[]; notes: string[] }> {
  const factory = (schemes as unknown as Record<string, unknown>).jwt
  if (typeof factory !== 'function') return { cases: [], notes: ['JWT rows skipped: `schemes.jwt` does not exist in this build.'] }
  const secret = new Uint8Array(32).fill(7)
  const make = (cache: boolean): Scheme =>
    (factory as (o: unknown) => Scheme)({
      key: secret,
      algorithms: ['HS256'],
      issuer: 'https://edge.example',
      audience: 'https://api.example',
      ...(cache ? {} : { cache: false }),
    })
  const token = await new SignJWT({ kw_key: 'key_jwt', kw_role: 'Read Write' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('ana')
    .setIssuer('https://edge.example')
    .setAudience('https://api.example')
    .setExpirationTime('2h')
    .sign(secret)
  const req: AuthRequest = { method: 'POST', url: '/scans', headers: { authorization: `Bearer ${token}` }, remoteAddress: CLIENT }
  const out: Case[] = []
  for (const [label, cache] of [['JWT HS256, first use (verification cache off)', false], ['JWT HS256, repeated (verification cache on)', true]] as const) {
    const a = createAuthorizer({ store: new MemoryKeyStore(), schemes: [make(cache)], touchIntervalMs: 0 })
    const need = a.need('scans:manage')
    const d = await a.authorize(req, need)
    if (!d.allow) return { cases: [], notes: [`JWT rows skipped: the sample token was refused (${d.status} ${d.reason}); the scheme's claim mapping may have changed.`] }
    out.push({ name: `authorize(): ${label}`, op: () => a.authorize(req, need), async: true })
  }
  return { cases: out, notes: [] }
}

function table(rows: readonly Row[]): string {
  const lines = ['| case | ns/op | ops/s | × floor | ±rme | samples |', '|---|---:|---:|---:|---:|---:|']
  for (const r of rows) {
    lines.push(
      `| ${r.name} | ${r.ns.toFixed(0)} | ${Math.round(1e9 / r.ns).toLocaleString('en-US')} | ${r.ratio.toFixed(2)} | ${r.rme.toFixed(1)}% | ${r.samples} |`,
    )
  }
  return lines.join('\n')
}

/** Runs the core cases. See the module comment for the method. */
export async function run(): Promise<BenchSection> {
  const { store, target, org, svc } = await setup()
  const notes: string[] = []

  // The floor: what any API-key check must do at least (hash the presented key, one lookup).
  const floorMap = new Map<string, number>()
  for (const r of await store.listKeys()) floorMap.set(r.hash, 1)
  if (!floorMap.has(nodeHash('sha256', target, 'base64url'))) throw new Error('bench setup: floor map does not hold the key')
  let sink = 0
  const noble = nobleHasher()
  if (noble(target) !== nodeHash('sha256', target, 'base64url')) throw new Error('bench setup: noble and native hashes differ')

  const mk = (s: typeof store | ReturnType<typeof cachedStore>, schemeList?: Scheme[]): Authorizer =>
    createAuthorizer({ store: s, touchIntervalMs: 0, ...(schemeList ? { schemes: schemeList } : {}) })
  const memory = mk(store)
  const cached = mk(cachedStore(store, { maxEntries: 20_000 }))
  const contrastAuth = mk(store, [schemes.contrast()])
  const need = memory.need('scans:manage')
  const needC = cached.need('scans:manage')
  const needK = contrastAuth.need('scans:manage')
  const allowReq = keyRequest(target)
  const unknownReq = keyRequest(generateKey())
  const contrastReq: AuthRequest = {
    method: 'POST',
    url: '/scans',
    headers: { 'api-key': org, authorization: Buffer.from(`ana@acme.test:${svc}`).toString('base64') },
    remoteAddress: CLIENT,
  }
  expectDecision(await memory.authorize(allowReq, need), true, 'X-Api-Key on MemoryKeyStore')
  expectDecision(await cached.authorize(allowReq, needC), true, 'X-Api-Key on cachedStore')
  expectDecision(await contrastAuth.authorize(contrastReq, needK), true, 'Contrast pair')
  expectDecision(await memory.authorize(unknownReq, need), false, 'unknown key')

  const cases: Case[] = [
    { name: 'floor: `crypto.hash` SHA-256 + `Map.get` (10k)', op: () => (sink += floorMap.get(nodeHash('sha256', target, 'base64url')) ?? 0), async: false },
    // What an asynchronous API adds to the floor at least: one settled promise, awaited.
    { name: 'floor, answered through a resolved promise and awaited', op: () => Promise.resolve(floorMap.get(nodeHash('sha256', target, 'base64url')) ?? 0), async: true },
    { name: '`createHash` SHA-256 (Node streaming API)', op: () => (sink += createHash('sha256').update(target).digest('base64url').length), async: false },
    { name: '`@noble/hashes` SHA-256 (string → base64url)', op: () => (sink += noble(target).length), async: false },
    { name: 'authorize(): X-Api-Key allowed, MemoryKeyStore (10k keys, 10 CIDRs, role)', op: () => memory.authorize(allowReq, need), async: true },
    { name: 'authorize(): X-Api-Key allowed, cachedStore over it', op: () => cached.authorize(allowReq, needC), async: true },
    { name: 'authorize(): Contrast pair allowed (2 lookups)', op: () => contrastAuth.authorize(contrastReq, needK), async: true },
    { name: 'authorize(): unknown key denied (401)', op: () => memory.authorize(unknownReq, need), async: true },
  ]
  const jwt = await jwtCases()
  cases.push(...jwt.cases)
  notes.push(...jwt.notes)

  // Several short rounds, all cases in each, instead of one long pass: load on a shared machine
  // drifts over a run, and a ratio taken within one round compares cases under the same load.
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3))
  const perRound: { ns: number; rme: number; samples: number }[][] = cases.map(() => [])
  for (let round = 0; round < rounds; round++) {
    const bench = new Bench({ time: Number(process.env.BENCH_TIME_MS ?? 600), warmupTime: 200, ...(WALL ? {} : { now: cpuNow }) })
    for (const c of cases) {
      const n = batchOf(c)
      if (c.async) {
        bench.add(c.name, async () => {
          for (let i = 0; i < n; i++) await c.op()
        })
      } else {
        bench.add(c.name, () => {
          for (let i = 0; i < n; i++) c.op()
        })
      }
    }
    await bench.run()
    bench.tasks.forEach((t, i) => {
      const r = t.result
      if (r.state !== 'completed') throw new Error(`bench task ${t.name} ${r.state}${r.state === 'errored' ? `: ${r.error.message}` : ''}`)
      const n = batchOf(cases[i]!)
      perRound[i]!.push({ ns: (r.latency.p50 * 1e6) / n, rme: r.latency.rme, samples: r.latency.samples?.length ?? Math.round(r.totalTime / r.period) })
    })
  }
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b)
    return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
  }
  const floorRounds = perRound[0]!
  const rows: Row[] = cases.map((c, i) => {
    const rs = perRound[i]!
    return {
      name: c.name,
      ns: median(rs.map((r) => r.ns)),
      ratio: median(rs.map((r, k) => r.ns / floorRounds[k]!.ns)),
      rme: Math.max(...rs.map((r) => r.rme)),
      samples: rs.reduce((a, r) => a + r.samples, 0),
    }
  })
  if (sink === 0) notes.push('(sink unused)')
  notes.push(
    `ns/op: ${WALL ? 'wall' : 'CPU'} time per operation: in each of ${rounds} rounds, the median tinybench sample (a batch of ${BATCH_SYNC} sync or ${BATCH_ASYNC} async operations) divided by the batch; the table shows the median over rounds. "× floor" is the median over rounds of ns/op ÷ the floor row's ns/op in the same round; ±rme is the worst round's.`,
    `Setup: ${KEYS} keys in a MemoryKeyStore; the allowed key has ${CIDRS.length} IPv4 CIDRs and the client matches the last; need \`scans:manage\` (pre-compiled with \`authorizer.need\`); no onDecision, no rate limiter, touch off.`,
  )
  return { title: 'Core: authorize()', table: table(rows), notes }
}
