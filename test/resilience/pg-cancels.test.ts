/**
 * Reads the Postgres store gives up on are cancelled on the server (`pg_cancel_backend`), every
 * one of them, at most four at a time, without a server: a pool whose reads hang until
 * node-postgres's `query_timeout` cuts them off, as behind a migration's lock. With a real server
 * the same rule is `test/integration/postgres-bounds.test.ts` ("a lock held by a migration").
 *
 * No wall-clock assertion: the deadlines are short only so that the reads give up soon; what is
 * checked is which backends were cancelled, how many times, and how many cancels ran at once.
 */
import type { Pool } from 'pg'
import { describe, expect, it, vi } from 'vitest'
import { PgRunner } from '../../src/stores/_pg-run.js'
import { PostgresStoreError } from '../../src/stores/postgres.js'

const TIMEOUT_MS = 30
const CANCEL_TEXT = 'SELECT pg_cancel_backend($1::int)'

interface Query {
  text: string
  values?: unknown[]
  query_timeout?: number
}

/**
 * A pool of hanging reads. Each connection is a backend with its own pid; a read never answers
 * and is cut off at its `query_timeout` (what node-postgres does); a cancel answers after a few
 * ms. `cancelConnects` decides, per connection asked for after the reads (the cancels' own),
 * whether it is given or refused.
 */
function hangingPool(cancelConnects: (n: number) => boolean) {
  let pid = 1000
  let cancelConnectsAsked = 0
  let running = 0
  const seen = { maxAtOnce: 0, cancelled: [] as number[], refused: 0 }
  const client = () => {
    const processID = ++pid
    return {
      processID,
      on: () => undefined,
      off: () => undefined,
      release: () => undefined,
      query(q: Query): Promise<unknown> {
        if (q.text !== CANCEL_TEXT) {
          return new Promise((_, reject) => setTimeout(() => reject(new Error('Query read timeout')), q.query_timeout))
        }
        running++
        seen.maxAtOnce = Math.max(seen.maxAtOnce, running)
        return new Promise((resolve) =>
          setTimeout(() => {
            running--
            seen.cancelled.push(q.values![0] as number)
            resolve({ rows: [{ pg_cancel_backend: true }], rowCount: 1 })
          }, 5),
        )
      },
    }
  }
  let reads = 0
  const pool = {
    connect(): Promise<unknown> {
      // The first `reads` connections carry the reads; every later one is a cancel's.
      if (reads > 0) {
        reads--
        return Promise.resolve(client())
      }
      if (cancelConnects(++cancelConnectsAsked)) return Promise.resolve(client())
      seen.refused++
      return Promise.reject(new Error('connect ECONNREFUSED'))
    },
  }
  return {
    pool: pool as unknown as Pool,
    seen,
    expectReads(n: number) {
      reads = n
    },
    /** The pids the reads ran on, in order: the first `n` connections. */
    readPids: (n: number) => Array.from({ length: n }, (_, i) => 1001 + i),
  }
}

describe('reads given up on are cancelled on the server', () => {
  it.each([
    { reads: 1, label: 'one read' },
    { reads: 4, label: 'as many reads as cancels run at once' },
    { reads: 12, label: 'three times as many reads as cancels run at once' },
  ])('cancels every backend, each once and at most four at a time: $label', async ({ reads }) => {
    const p = hangingPool(() => true)
    const runner = new PgRunner(p.pool, TIMEOUT_MS, false)
    p.expectReads(reads)
    const results = await Promise.allSettled(Array.from({ length: reads }, () => runner.query('lookup', 'SELECT 1', [], false)))
    for (const r of results) expect(r.status === 'rejected' && r.reason instanceof PostgresStoreError).toBe(true)
    await vi.waitFor(() => expect(p.seen.cancelled).toHaveLength(reads), { timeout: 5000, interval: 5 })
    expect([...p.seen.cancelled].sort((a, b) => a - b)).toEqual(p.readPids(reads))
    expect(p.seen.maxAtOnce).toBeLessThanOrEqual(4)
  })

  it('tries a cancel again when its connection is refused, and cancels the backend once it gets one', async () => {
    // Every cancel's first connection is refused, its second given.
    const p = hangingPool((n) => n > 6)
    const runner = new PgRunner(p.pool, TIMEOUT_MS, false)
    p.expectReads(6)
    await Promise.allSettled(Array.from({ length: 6 }, () => runner.query('lookup', 'SELECT 1', [], false)))
    await vi.waitFor(() => expect(p.seen.cancelled).toHaveLength(6), { timeout: 5000, interval: 5 })
    expect([...p.seen.cancelled].sort((a, b) => a - b)).toEqual(p.readPids(6))
    expect(p.seen.refused).toBe(6)
  })

  it('gives a cancel up after three refused connections, instead of trying for ever', async () => {
    const p = hangingPool(() => false)
    const runner = new PgRunner(p.pool, TIMEOUT_MS, false)
    p.expectReads(5)
    await Promise.allSettled(Array.from({ length: 5 }, () => runner.query('lookup', 'SELECT 1', [], false)))
    await vi.waitFor(() => expect(p.seen.refused).toBe(15), { timeout: 5000, interval: 5 })
    // Nothing more is tried once every attempt is spent.
    await new Promise((r) => setTimeout(r, 100))
    expect(p.seen.refused).toBe(15)
    expect(p.seen.cancelled).toEqual([])
  })
})
