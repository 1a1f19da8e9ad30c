/**
 * `npm run bench:revocation`: how long a revocation made on one instance takes to be applied on
 * the others, on three instances of `test/integration/_instance.ts` (cachedStore over Postgres,
 * invalidated over Redis, cache TTLs of a minute so only the bus can make an instance see it).
 * Needs `KEYWARD_PG_URL` and `KEYWARD_REDIS_URL` (e.g. from `.ci/servers.sh`).
 *
 * Each round: instance 1 issues a key, every instance is asked back to back while instance 1
 * deactivates it, until every instance has applied the invalidation and refused 3 requests after
 * that. Times are wall-clock milliseconds on this one machine (`performance.timeOrigin +
 * performance.now()` in every process), counted from the moment the revoking instance's
 * `KeyManager` reported the write (`onWrite`, right after the commit, which publishes it):
 * when each other instance applied the invalidation, the last request it allowed and the first it
 * refused (as it began deciding them).
 *
 * Numbers are measured, not asserted: a slow result is printed, never a failure. That a revoked
 * key is refused from the first request begun after the invalidation is applied is asserted,
 * without clocks, by `test/integration/multi-instance.test.ts`.
 * @module
 */
import { randomBytes } from 'node:crypto'
import os from 'node:os'
import { ask, startInstances, stopInstances, type Child } from '../test/integration/_cluster.js'
import { pgFixture } from '../test/integration/_pg.js'

/** The documented bound (docs/operations.md, "Running on several instances"), reported against. */
const BOUND_MS = 100
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const ROUNDS = arg('rounds', 20)
const INSTANCES = 3
const pgUrl = process.env.KEYWARD_PG_URL
const redisUrl = process.env.KEYWARD_REDIS_URL
if (pgUrl === undefined || redisUrl === undefined) {
  console.error('bench:revocation needs KEYWARD_PG_URL and KEYWARD_REDIS_URL (bash .ci/servers.sh start && eval "$(bash .ci/servers.sh env)")')
  process.exit(2)
}

interface Timed {
  /** Per other instance: ms after the commit when it applied the invalidation. */
  applied: number[]
  /** Per instance: ms after the commit of the last allow and the first deny it began deciding. */
  lastAllow: number[]
  firstDeny: number[]
  /** Requests begun more than BOUND_MS after the commit, and how many of them were allowed. */
  afterBound: number
  lateAllows: number
}

async function round(children: Child[]): Promise<Timed> {
  const { key, id } = await children[1]!.request<{ key: string; id: string }>({ type: 'issue', options: { kind: 'user', owner: 'ana', role: 'Read Only' } }, 'issued')
  await Promise.all(children.map((c, i) => (i === 1 ? undefined : c.request({ type: 'applied', id, count: 1 }, 'applied'))))
  for (const c of children) await ask(c.port, key)
  const samples: { instance: number; status: number; decided: number }[] = []
  const done = children.map(() => false)
  const pollers = children.map(async (c, instance) => {
    let after = 0
    while (after < 3) {
      const told = done[instance]!
      samples.push({ instance, ...(await ask(c.port, key)) })
      if (told) after++
    }
  })
  const written = await children[1]!.request<{ at: number }>({ type: 'deactivate', id }, 'deactivated')
  done[1] = true
  const applied = await Promise.all(
    children.map(async (c, i) => {
      if (i === 1) return undefined
      const h = await c.request<{ at: number }>({ type: 'applied', id, count: 2 }, 'applied')
      done[i] = true
      return h.at - written.at
    }),
  )
  await Promise.all(pollers)
  const t = samples.map((s) => ({ ...s, t: s.decided - written.at }))
  const per = (i: number) => t.filter((s) => s.instance === i)
  return {
    applied: applied.filter((a): a is number => a !== undefined),
    lastAllow: children.map((_, i) => Math.max(0, per(i).filter((s) => s.status === 200).at(-1)?.t ?? 0)),
    firstDeny: children.map((_, i) => Math.max(0, per(i).find((s) => s.status !== 200)?.t ?? Number.NaN)),
    afterBound: t.filter((s) => s.t > BOUND_MS).length,
    lateAllows: t.filter((s) => s.t > BOUND_MS && s.status === 200).length,
  }
}

const stats = (xs: number[]): string => {
  const s = [...xs].sort((x, y) => x - y)
  const pct = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!.toFixed(1)
  return `${pct(50)} | ${pct(90)} | ${s.at(-1)!.toFixed(1)}`
}

const fx = await pgFixture()
const channel = `kwbench:rev:${randomBytes(4).toString('hex')}`
const children = await startInstances({ mode: 'cached', pgUrl, redisUrl, schema: fx.schema, channel, prefix: `${channel}:rl:`, instances: INSTANCES })
const all: Timed[] = []
try {
  for (let r = 0; r < ROUNDS; r++) all.push(await round(children))
} finally {
  await stopInstances(children)
  await fx.close()
}
const flat = (f: (t: Timed) => number[]): number[] => all.flatMap(f)
const afterBound = all.reduce((n, t) => n + t.afterBound, 0)
const late = all.reduce((n, t) => n + t.lateAllows, 0)
console.log(`# Revocation across ${INSTANCES} instances over Redis (${ROUNDS} rounds, load ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')})\n`)
console.log('| ms after the commit | median | p90 | max |')
console.log('|---|---:|---:|---:|')
console.log(`| invalidation applied on the other instances | ${stats(flat((t) => t.applied))} |`)
console.log(`| last request allowed (as the instance began deciding it) | ${stats(flat((t) => t.lastAllow))} |`)
console.log(`| first request refused (includes one request's turnaround) | ${stats(flat((t) => t.firstDeny))} |`)
console.log(`\nRequests begun more than ${BOUND_MS} ms after the commit: ${afterBound}, allowed: ${late}.`)
const worst = Math.max(...flat((t) => t.applied))
console.log(worst <= BOUND_MS ? `Every invalidation was applied within the documented ${BOUND_MS} ms.` : `Slowest invalidation: ${worst.toFixed(1)} ms, beyond the documented ${BOUND_MS} ms (on this run's load).`)
