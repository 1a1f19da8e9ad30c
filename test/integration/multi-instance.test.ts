/**
 * Three API server processes sharing one Postgres and one Redis, requests spread across them;
 * each process runs the three configurations below in turn.
 *
 * - A key revoked through one instance's KeyManager is refused by every instance from the moment
 *   the revocation is applied there: on the writing instance once its write returned; on the
 *   others once their bus applied the invalidation to their cache (cached mode), or once the write
 *   returned (Postgres on every request, the baseline). Every instance does apply it, and no
 *   request that an instance began after applying it is allowed.
 * - A per-key limit of N admits N requests in total across the instances, not N per instance.
 * - A key with N credits admits exactly N requests in total across the instances, whether the
 *   credits are consumed in Postgres (through the cache or not) or in a Redis ledger.
 *
 * "After" is read from each instance's own order of events (a counter every request and every
 * applied invalidation takes a number from, in that single-threaded process: `_instance.ts`),
 * and from the parent's own order (a request sent after the parent was told the revocation was
 * applied), never from clocks: a loaded machine slows these tests down but cannot fail them. How
 * long propagation takes is measured, not asserted, by `npm run bench:revocation`
 * (`bench/revocation.ts`), which the documented bound cites.
 */
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deferred } from '../resilience/_helpers.js'
import { ask, closeProcesses, forkProcesses, startScenario, stopScenario, type Answer, type Child } from './_cluster.js'
import { HAVE_PG, HAVE_REDIS, PG_URL, REDIS_URL } from './_env.js'
import { pgFixture, type PgFixture } from './_pg.js'

const INSTANCES = 3
const ROUNDS = 5
/** Requests each instance decides after the parent learned the revocation was applied there. */
const AFTER_APPLIED = 3

interface Sample extends Answer {
  instance: number
  /** Sent after the parent was told the revocation was applied on this instance. */
  sentAfterApplied: boolean
}

interface Round {
  samples: Sample[]
  /** Per instance, where in its order of events the revocation was applied; `null` where no instance event marks it. */
  applied: (number | null)[]
}

/**
 * One revocation: every instance is asked back to back while instance 1 deactivates the key,
 * until each has decided AFTER_APPLIED requests sent after the revocation was applied there.
 */
async function revocationRound(children: Child[], mode: 'cached' | 'pg'): Promise<Round> {
  // Instance 1 issues the key and revokes it. Each write publishes one change, which every other
  // instance applies once: the is its first change of this key, the revocation's the second.
  const { key, id } = await children[1]!.request<{ key: string; id: string }>({ type: 'issue', options: { kind: 'user', owner: 'ana', role: 'Read Only' } }, 'issued')
  if (mode === 'cached') await Promise.all(children.map((c, i) => (i === 1 ? undefined : c.request({ type: 'applied', id, count: 1 }, 'applied'))))
  for (const c of children) expect((await ask(c.port, key)).status).toBe(200) // warm every cache
  const samples: Sample[] = []
  const applied: (number | null)[] = children.map(() => null)
  const told = children.map(() => false)
  const asked = children.map(() => deferred())
  const pollers = children.map(async (c, instance) => {
    for (let after = 0; after < AFTER_APPLIED; ) {
      const sentAfterApplied = told[instance]!
      samples.push({ instance, sentAfterApplied, ...(await ask(c.port, key)) })
      asked[instance]!.resolve()
      if (sentAfterApplied) after++
    }
  })
  // Every instance has answered once before the revocation is written.
  await Promise.all(asked.map((d) => d.promise))
  const written = await children[1]!.request<{ seq: number }>({ type: 'deactivate', id }, 'deactivated')
  applied[1] = written.seq
  told[1] = true
  await Promise.all(
    children.map(async (c, i) => {
      if (i === 1) return
      if (mode === 'pg') {
        told[i] = true // no cache: a request that starts after the commit reads it
        return
      }
      // Its second change of this key: the revocation (the was the first, applied above).
      applied[i] = (await c.request<{ seq: number }>({ type: 'applied', id, count: 2 }, 'applied')).seq
      told[i] = true
    }),
  )
  await Promise.all(pollers)
  return { samples, applied }
}

/** Every instance allowed the key before, refused every request it began after applying the revocation, and was asked then. */
function check(rounds: Round[]): { total: number; afterApplied: number } {
  let total = 0
  let afterApplied = 0
  for (const { samples, applied } of rounds) {
    total += samples.length
    for (let i = 0; i < INSTANCES; i++) {
      const mine = samples.filter((s) => s.instance === i)
      expect(mine.filter((s) => s.status !== 200 && s.status !== 401), `instance ${i}: only 200 or 401`).toEqual([])
      expect(mine[0]?.status, `instance ${i} allowed the key before it was revoked`).toBe(200)
      const told = mine.filter((s) => s.sentAfterApplied)
      expect(told.length, `instance ${i} was asked after the revocation was applied there`).toBeGreaterThanOrEqual(AFTER_APPLIED)
      expect(told.filter((s) => s.status !== 401), `instance ${i} allowed a request sent after the revocation was applied there`).toEqual([])
      const at = applied[i]
      if (at === null || at === undefined) continue
      const late = mine.filter((s) => s.seq > at)
      expect(late.filter((s) => s.status !== 401), `instance ${i} allowed a request it began after applying the revocation`).toEqual([])
      afterApplied += late.length
    }
  }
  return { total, afterApplied }
}

async function rateLimitRound(children: Child[], n: number): Promise<number[]> {
  const { key } = await children[0]!.request<{ key: string }>({ type: 'issue', options: { kind: 'org', tenant: 't1', rateLimit: { capacity: n, refillPerSecond: 0.001 } } }, 'issued')
  return Promise.all(Array.from({ length: 3 * n }, async (_, i) => (await ask(children[i % INSTANCES]!.port, key)).status))
}

describe.skipIf(!HAVE_PG || !HAVE_REDIS)('several instances on one Postgres and one Redis', () => {
  let fx: PgFixture
  /** The instances: each process hosts every configuration below in turn. */
  let procs: ChildProcess[] = []
  const tag = randomBytes(4).toString('hex')
  beforeAll(async () => {
    const [fixture, forked] = await Promise.all([pgFixture(), forkProcesses(INSTANCES)])
    fx = fixture
    procs = forked
  }, 120_000)
  afterAll(async () => {
    await closeProcesses(procs)
    await fx?.close()
  })

  describe.each([
    ['cached, invalidated over Redis', 'cached', false],
    ['Postgres on every request (baseline)', 'pg', false],
    ['cached, credits in a Redis ledger', 'cached', true],
  ] as const)('%s', (label, mode, ledger) => {
    let children: Child[] = []
    beforeAll(async () => {
      const at = `kwtest:mi:${tag}:${mode}:${ledger ? 'ledger' : 'store'}`
      children = await startScenario(procs, { mode, pgUrl: PG_URL!, redisUrl: REDIS_URL!, schema: fx.schema, channel: at, prefix: `${at}:rl:`, ...(ledger ? { creditsPrefix: `${at}:credits:` } : {}) })
    }, 120_000)
    afterAll(async () => {
      await stopScenario(children)
    })

    it(`refuses a key revoked on one instance on all ${INSTANCES}, from the first request each begins after applying the revocation`, async () => {
      const rounds: Round[] = []
      for (let r = 0; r < ROUNDS; r++) rounds.push(await revocationRound(children, mode))
      const { total, afterApplied } = check(rounds)
      console.info(`[${label}] ${ROUNDS} revocations × ${INSTANCES} instances, ${total} requests; begun after the revocation was applied on their instance: ${afterApplied}, all refused`)
    }, 60_000)

    it('admits N requests in total across the instances for a per-key limit of N', async () => {
      const n = 12
      const statuses = await rateLimitRound(children, n)
      expect(statuses.filter((s) => s === 200)).toHaveLength(n)
      expect(statuses.filter((s) => s === 429)).toHaveLength(2 * n)
    })

    it(`allows exactly 100 of 1000 concurrent requests across the ${INSTANCES} instances for a key with 100 credits`, async () => {
      const { key } = await children[0]!.request<{ key: string }>({ type: 'issue', options: { kind: 'org', credits: { remaining: 100 } } }, 'issued')
      const statuses = await Promise.all(Array.from({ length: 1000 }, async (_, i) => (await ask(children[i % INSTANCES]!.port, key)).status))
      expect(statuses.filter((s) => s === 200)).toHaveLength(100)
      expect(statuses.filter((s) => s === 429)).toHaveLength(900)
    }, 60_000)
  })
})
