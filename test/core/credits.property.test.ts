/**
 * The refill arithmetic against a simple model under a fake clock: the model walks every
 * interval boundary one by one and tops the balance up at each; the store counts lazily, in one
 * step per consume. Any sequence of clock advances, costs and edits must give the same answers.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DAY_MS, MONTH_MS } from '../../src/lib/credits.js'
import { MemoryKeyStore } from '../../src/stores/memory.js'
import { KeyManager } from '../../src/stores/manager.js'
import type { CreditRefill } from '../../src/types.js'

/** The obvious implementation: step through each boundary, then take the cost if it is covered. */
class Model {
  next: number
  constructor(public remaining: number, readonly refill: CreditRefill | undefined, start: number) {
    this.next = refill === undefined ? Infinity : start + ms(refill)
  }
  consume(cost: number, at: number): { allowed: boolean; remaining: number; nextRefillAt?: number } {
    while (this.refill !== undefined && at >= this.next) {
      if (this.remaining < this.refill.amount) this.remaining = this.refill.amount
      this.next += ms(this.refill)
    }
    const allowed = this.remaining >= cost
    if (allowed) this.remaining -= cost
    return this.refill === undefined ? { allowed, remaining: this.remaining } : { allowed, remaining: this.remaining, nextRefillAt: this.next }
  }
}
const ms = (r: CreditRefill): number => (r.interval === 'day' ? DAY_MS : r.interval === 'month' ? MONTH_MS : r.interval)

const refillArb = fc.option(
  fc.record({ amount: fc.integer({ min: 1, max: 50 }), interval: fc.oneof(fc.constant('day' as const), fc.constant('month' as const), fc.integer({ min: 60_000, max: 5 * DAY_MS })) }),
  { nil: undefined },
)
const stepArb = fc.record({
  advance: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 3 * DAY_MS }), fc.integer({ min: 0, max: 70 * DAY_MS })),
  cost: fc.integer({ min: 1, max: 20 }),
})

describe('credit refill arithmetic', () => {
  it('matches the step-by-step model for every sequence of advances and costs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 60 }), refillArb, fc.array(stepArb, { maxLength: 40 }), async (start, refill, steps) => {
        let now = Date.UTC(2026, 0, 31, 23, 59, 59)
        const store = new MemoryKeyStore()
        const manager = new KeyManager(store, { now: () => now })
        const { record } = await manager.issue({ kind: 'org', credits: refill === undefined ? { remaining: start } : { remaining: start, refill } })
        const model = new Model(start, refill, now)
        for (const s of steps) {
          now += s.advance
          expect(await store.consumeCredits(record.id, s.cost, now)).toEqual(model.consume(s.cost, now))
          expect((await store.getKey(record.id))!.credits!.remaining).toBe(model.remaining)
        }
      }),
      { numRuns: 150 },
    )
  })

  it('restarts the model on an edit: the balance is set to N and the interval starts at the edit', async () => {
    await fc.assert(
      fc.asyncProperty(refillArb, fc.array(fc.tuple(stepArb, fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined })), { maxLength: 30 }), async (refill, steps) => {
        let now = Date.UTC(2026, 1, 28, 12)
        const store = new MemoryKeyStore()
        const manager = new KeyManager(store, { now: () => now })
        const set = (n: number) => (refill === undefined ? { remaining: n } : { remaining: n, refill })
        const { record } = await manager.issue({ kind: 'org', credits: set(5) })
        let model = new Model(5, refill, now)
        for (const [s, edit] of steps) {
          now += s.advance
          if (edit !== undefined) {
            await manager.update(record.id, { credits: set(edit) })
            model = new Model(edit, refill, now)
          }
          expect(await store.consumeCredits(record.id, s.cost, now)).toEqual(model.consume(s.cost, now))
        }
      }),
      { numRuns: 200 },
    )
  })
})
