/**
 * Hostile input to keyward/redis on a private Redis: forged and malformed invalidation messages
 * (cheap, one clear per interval, never applied when unauthenticated) and a Redis whose
 * `maxmemory-policy` may evict buckets (warned once; a Redis without CONFIG is tolerated).
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { subscriberWorker } from '../../src/redis/_invalidation.js'
import { redisInvalidation, redisRateLimiter, type RedisInvalidationOptions } from '../../src/redis/index.js'
import type { StoreChange } from '../../src/stores/manager.js'
import { BUS_SUBSCRIBERS, HAVE_REDIS } from './_env.js'
import { HAVE_REDIS_SERVER, privateRedis, type PrivateRedis } from './_redis-server.js'

const measured = (what: string, value: unknown): void => console.log(`[measured] ${what}: ${JSON.stringify(value)}`)

/** Publishes `count` messages (cycling through `list`) from another process, in one pipeline. */
async function publishFlood(url: string, channel: string, list: readonly string[], count: number): Promise<void> {
  const script = `
    const { Redis } = require('ioredis')
    const [url, channel, list, count] = process.argv.slice(1)
    const messages = JSON.parse(list)
    const r = new Redis(url)
    const pipe = r.pipeline()
    for (let i = 0; i < Number(count); i++) pipe.publish(channel, messages[i % messages.length])
    pipe.exec().then(() => r.quit())`
  const child = spawn(process.execPath, ['-e', script, url, channel, JSON.stringify(list), String(count)], { stdio: 'ignore' })
  expect(await new Promise((r) => child.once('exit', r))).toBe(0)
}

describe.skipIf(!HAVE_REDIS || !HAVE_REDIS_SERVER).each(BUS_SUBSCRIBERS)('redis: hostile messages and configuration (%s subscriber)', (subscriber) => {
  let server: PrivateRedis
  /** Tests of the worker itself exist only in the worker run; the thread run does not list them. */
  const itWorker = (name: string, fn: () => unknown, timeout?: number): void => {
    if (subscriber === 'worker') it(name, fn, timeout)
  }
  const closers: (() => Promise<void> | void)[] = []
  const client = (url = server.url): Redis => {
    const r = new Redis(url, { maxRetriesPerRequest: 1 })
    r.on('error', () => undefined)
    closers.push(() => r.disconnect())
    return r
  }
  /** A bus with a target that counts what reaches the cache. */
  async function bus(channel: string, options: RedisInvalidationOptions = {}) {
    const seen = { clears: 0, invalidated: [] as StoreChange[], errors: [] as Error[] }
    const b = redisInvalidation(client(), { channel, subscriber, onError: (e) => seen.errors.push(e), ...options })
    await b.attach({ invalidate: (c) => void seen.invalidated.push(c), clear: () => void seen.clears++ })
    closers.push(() => b.close())
    seen.clears = 0
    return { bus: b, seen }
  }

  beforeAll(async () => {
    server = await privateRedis()
  })
  afterAll(async () => {
    for (const c of closers.reverse()) await c()
    await server.stop()
  })

  it('clears the caches once per interval, not once per message, under a flood of malformed messages, and still applies valid ones', async () => {
    const channel = `kwtest:hostile:${randomBytes(4).toString('hex')}`
    // A long interval: within the test, only the first malformed message may clear.
    const { seen } = await bus(channel, { outageClearMs: 60_000, heartbeatMs: 0 })
    const forged = ['{', 'x', '{"v":2}', '[]', '{"v":1,"type":"key"}', '{"v":1,"type":"nope","id":"a"}', '{"v":1,"type":"key","id":"a","hashes":7}', 'null']
    // The attacker is another process: only the victim's own work counts in its event loop.
    const script = `
      const { Redis } = require('ioredis')
      const [url, channel, forged] = process.argv.slice(1)
      const list = JSON.parse(forged)
      const r = new Redis(url)
      const pipe = r.pipeline()
      for (let i = 0; i < 20000; i++) pipe.publish(channel, list[i % list.length])
      pipe.publish(channel, JSON.stringify({ v: 1, type: 'key', id: 'key_after_flood', hashes: [] }))
      pipe.exec().then(() => r.quit())`
    const flood = async (on: string) => {
      const histogram = monitorEventLoopDelay({ resolution: 1 })
      histogram.enable()
      const child = spawn(process.execPath, ['-e', script, server.url, on, JSON.stringify(forged)], { stdio: 'ignore' })
      expect(await new Promise((r) => child.once('exit', r))).toBe(0)
      await sleep(200)
      histogram.disable()
      return [histogram.max / 1e6, histogram.percentile(99) / 1e6].map((x) => Math.round(x * 10) / 10)
    }
    // The same flood on a channel nobody reads (what the machine alone costs) is measured by
    // `npm run bench:bus`, beside this one; a test asserts, a benchmark compares.
    measured('event-loop delay max / p99 ms, 20000 malformed messages to this bus', await flood(channel))
    await vi.waitFor(() => expect(seen.invalidated.map((c) => c.id)).toContain('key_after_flood'), { timeout: 10_000, interval: 20 })
    // Before: one clear (and one Error with a stack) per message, 20000 of each.
    expect(seen.clears).toBe(1)
    expect(seen.errors).toHaveLength(1)
    expect(seen.invalidated).toHaveLength(1)
  }, 30_000)

  it('follows every malformed message with a clear within the interval', async () => {
    const channel = `kwtest:hostile:${randomBytes(4).toString('hex')}`
    const { seen } = await bus(channel, { outageClearMs: 300, heartbeatMs: 0 })
    const attacker = client()
    await attacker.publish(channel, 'garbage')
    await vi.waitFor(() => expect(seen.clears).toBe(1))
    await attacker.publish(channel, 'garbage')
    await attacker.publish(channel, 'garbage')
    // The second and third share one clear, at the end of the interval.
    await vi.waitFor(() => expect(seen.clears).toBe(2), { timeout: 2000, interval: 20 })
    await sleep(400)
    expect(seen.clears).toBe(2)
  })

  it('with a shared secret, applies only authenticated messages and treats forged ones as unreadable', async () => {
    const channel = `kwtest:hostile:${randomBytes(4).toString('hex')}`
    const secret = randomBytes(32)
    const reader = await bus(channel, { secret, outageClearMs: 60_000, heartbeatMs: 0 })
    const writer = await bus(channel, { secret, heartbeatMs: 0 })
    const impostor = await bus(channel, { secret: randomBytes(32), heartbeatMs: 0 })
    const attacker = client()
    await attacker.publish(channel, JSON.stringify({ v: 1, type: 'key', id: 'key_forged', hashes: [] }))
    impostor.bus.publish({ type: 'owner', id: 'owner_forged' })
    writer.bus.publish({ type: 'key', id: 'key_real', hashes: ['h1'] })
    await vi.waitFor(() => expect(reader.seen.invalidated).toEqual([{ type: 'key', id: 'key_real', hashes: ['h1'] }]))
    await sleep(100)
    expect(reader.seen.invalidated).toEqual([{ type: 'key', id: 'key_real', hashes: ['h1'] }])
    expect(reader.seen.clears).toBe(1)
    expect(() => redisInvalidation(client(), { secret: 'short' })).toThrow(/secret/)
  })

  it('ignores heartbeats of other instances and keeps them from clearing caches of versions that do not know them', async () => {
    const channel = `kwtest:hostile:${randomBytes(4).toString('hex')}`
    const a = await bus(channel, { heartbeatMs: 50 })
    const spy = client()
    const raw: string[] = []
    const sub = client()
    await sub.subscribe(channel)
    sub.on('message', (_c: string, m: string) => raw.push(m))
    const b = await bus(channel, { heartbeatMs: 0 })
    await sleep(400)
    await vi.waitFor(() => expect(a.bus.state).toBe('up'))
    // A few heartbeats have gone by (on a loaded machine a's bus may take longer than the sleep).
    await vi.waitFor(() => expect(raw.length).toBeGreaterThan(2), { timeout: 10_000 })
    // b hears a's heartbeats (and a hears its own) and applies none of them.
    expect([b.seen.clears, b.seen.invalidated.length, a.seen.invalidated.length]).toEqual([0, 0, 0])
    // A heartbeat is a valid change of a key id no key has: older versions drop nothing.
    expect(JSON.parse(raw[0]!)).toMatchObject({ v: 1, type: 'key', id: 'keyward:heartbeat' })
    spy.disconnect()
  })

  it('warns once when maxmemory-policy lets Redis evict buckets, and not with noeviction', async () => {
    const admin = client()
    const warnings: string[] = []
    const prefix = `kwtest:${randomBytes(4).toString('hex')}:`
    await admin.config('SET', 'maxmemory-policy', 'noeviction')
    const quiet = redisRateLimiter(client(), { capacity: 5, refillPerSecond: 1, prefix, onWarning: (m) => warnings.push(m) })
    await quiet.consume('key_w')
    await admin.config('SET', 'maxmemory', '100mb')
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru')
    const loud = redisRateLimiter(client(), { capacity: 5, refillPerSecond: 1, prefix, onWarning: (m) => warnings.push(m) })
    for (let i = 0; i < 5; i++) await loud.consume('key_w')
    await vi.waitFor(() => expect(warnings).toHaveLength(1))
    await sleep(100)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/maxmemory-policy is "allkeys-lru".*noeviction/)
    await admin.config('SET', 'maxmemory-policy', 'noeviction')
  })

  it('works, without a warning, on a Redis where CONFIG is disabled', async () => {
    const locked = await privateRedis(['--rename-command', 'CONFIG', ''])
    closers.push(() => locked.stop())
    const warnings: string[] = []
    const limiter = redisRateLimiter(client(locked.url), { capacity: 2, refillPerSecond: 1, onWarning: (m) => warnings.push(m) })
    expect((await limiter.consume('key_locked')).allowed).toBe(true)
    await sleep(100)
    expect(warnings).toEqual([])
  })

  itWorker('hands the main thread one clear for a flood of malformed messages, not one event per message', async () => {
    const channel = `kwtest:hostile:${randomBytes(4).toString('hex')}`
    const { bus: b, seen } = await bus(channel, { outageClearMs: 60_000, heartbeatMs: 0 })
    expect(b.subscriber).toBe('worker')
    const before = b.counters
    await publishFlood(server.url, channel, ['{', 'x', '{"v":2}', '[]', 'null'], 20_000)
    await client().publish(channel, JSON.stringify({ v: 1, type: 'key', id: 'key_after_flood', hashes: [] }))
    await vi.waitFor(() => expect(seen.invalidated.map((c) => c.id)).toContain('key_after_flood'), { timeout: 20_000, interval: 20 })
    const after = b.counters
    expect(after.messages - before.messages).toBe(20_001)
    // The first malformed message's clear, and the batch that carried the valid one.
    expect(after.handoffs - before.handoffs).toBe(2)
    expect([seen.clears, seen.errors.length, seen.invalidated.length]).toEqual([1, 1, 1])
  }, 30_000)

  it('applies each changed id at most once per handoff when a flood repeats one change', async () => {
    const channel = `kwtest:hostile:${randomBytes(4).toString('hex')}`
    const { bus: b, seen } = await bus(channel, { outageClearMs: 60_000, heartbeatMs: 0 })
    const change = JSON.stringify({ v: 1, type: 'key', id: 'key_hot', hashes: ['h1'] })
    const before = b.counters
    await publishFlood(server.url, channel, [change], 20_000)
    await vi.waitFor(() => expect(b.counters.messages - before.messages).toBe(20_000), { timeout: 20_000, interval: 20 })
    await vi.waitFor(() => expect(seen.invalidated.length).toBe(b.counters.handoffs - before.handoffs), { timeout: 5000, interval: 20 })
    expect(seen.invalidated.every((c) => c.id === 'key_hot')).toBe(true)
    if (subscriber === 'worker') expect(seen.invalidated.length).toBeLessThan(20_000)
    else expect(seen.invalidated.length).toBe(20_000)
    expect(seen.clears).toBe(0)
  }, 30_000)

  itWorker('fails closed when the worker dies: down, caches cleared and the death reported, then a new worker', async () => {
    const channel = `kwtest:hostile:${randomBytes(4).toString('hex')}`
    const states: string[] = []
    const { bus: b, seen } = await bus(channel, { outageClearMs: 100, heartbeatMs: 0, onStateChange: (s) => states.push(s) })
    const worker = subscriberWorker(b)!
    expect(b.state).toBe('up')
    await worker.terminate()
    await vi.waitFor(() => expect(b.state).toBe('down'))
    expect(states).toEqual(['up', 'down'])
    expect(seen.clears).toBeGreaterThanOrEqual(1)
    expect(seen.errors.map((e) => e.message)).toContainEqual(expect.stringMatching(/worker exited/))
    // Cleared every outageClearMs while down, then a new worker, up again, applying changes.
    await vi.waitFor(() => expect(b.state).toBe('up'), { timeout: 20_000, interval: 20 })
    expect(seen.clears).toBeGreaterThanOrEqual(2)
    expect(subscriberWorker(b)).not.toBe(worker)
    await client().publish(channel, JSON.stringify({ v: 1, type: 'key', id: 'key_after_restart', hashes: [] }))
    await vi.waitFor(() => expect(seen.invalidated.map((c) => c.id)).toContain('key_after_restart'))
  }, 30_000)

  itWorker('terminates its worker on close()', async () => {
    const channel = `kwtest:hostile:${randomBytes(4).toString('hex')}`
    const b = redisInvalidation(client(), { channel, subscriber, heartbeatMs: 0 })
    await b.attach({ invalidate: () => undefined, clear: () => undefined })
    const worker = subscriberWorker(b)!
    let exited = false
    worker.once('exit', () => void (exited = true))
    await b.close()
    expect(exited).toBe(true)
    expect(subscriberWorker(b)).toBeUndefined()
    expect(b.state).toBe('idle')
  })

  itWorker('never keeps the process alive: a bus left open does not stop it from exiting', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./_bus-unref.ts', import.meta.url)), server.url], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => void (out += d.toString()))
    // A liveness guard only (the process is killed if it hangs), not a measured bound.
    const guard = setTimeout(() => child.kill('SIGKILL'), 25_000)
    const code = await new Promise((r) => child.once('exit', (c, signal) => r(signal ?? c)))
    clearTimeout(guard)
    expect(out.trim()).toBe('attached worker')
    expect(code).toBe(0)
  }, 30_000)

  itWorker('stays in this thread for a client a worker cannot copy, and says so', () => {
    const custom = new Redis(server.url, { lazyConnect: true, retryStrategy: () => 100 })
    closers.push(() => custom.disconnect())
    expect(redisInvalidation(custom).subscriber).toBe('thread')
    expect(() => redisInvalidation(custom, { subscriber: 'worker' })).toThrow(/subscriber/)
    expect(redisInvalidation(client()).subscriber).toBe('worker')
    expect(redisInvalidation(client(), { subscriber: 'thread' }).subscriber).toBe('thread')
    expect(() => redisInvalidation(client(), { subscriber: 'elsewhere' as never })).toThrow(/subscriber/)
  })
})
