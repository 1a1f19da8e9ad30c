/**
 * `npm run bench:bus`: how long a flood of forged invalidation messages holds up the main thread
 * of an instance that subscribes to the channel, with the subscriber in this thread and in a
 * worker. Needs a Redis (`KEYWARD_REDIS_URL`, e.g. from `.ci/servers.sh`).
 *
 * Each round: another process publishes `--messages` tiny malformed messages in one pipeline (the
 * attacker's cheapest flood) while this thread's event-loop delay is recorded
 * (`monitorEventLoopDelay`, 1 ms resolution), until the bus has read them all (its counters), plus
 * 100 ms. The baseline is the same flood on a channel nobody here listens to: what the machine
 * alone costs. Rounds alternate between the variants, so load from other work hits all of them.
 *
 * Numbers are measured, not asserted: nothing here fails on a slow result.
 * @module
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import os from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { redisInvalidation, type RedisInvalidation } from '../src/redis/index.js'

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const MESSAGES = arg('messages', 20_000)
const ROUNDS = arg('rounds', 3)
const url = process.env.KEYWARD_REDIS_URL
if (url === undefined) {
  console.error('bench:bus needs KEYWARD_REDIS_URL (bash .ci/servers.sh start && eval "$(bash .ci/servers.sh env)")')
  process.exit(2)
}

const FLOOD = `
  const { Redis } = require('ioredis')
  const [url, channel, count] = process.argv.slice(1)
  const forged = ['{', 'x', '{"v":2}', '[]', 'null', '{"v":1,"type":"key"}']
  const r = new Redis(url)
  const pipe = r.pipeline()
  for (let i = 0; i < Number(count); i++) pipe.publish(channel, forged[i % forged.length])
  pipe.exec().then(() => r.quit())`

async function flood(channel: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', FLOOD, url!, channel, String(MESSAGES)], { stdio: 'ignore' })
  await new Promise((resolve) => child.once('exit', resolve))
}

/** One round: max and p99 event-loop delay (ms) and main-thread handoffs while `bus` (or nobody) takes the flood. */
async function round(channel: string, bus: RedisInvalidation | undefined): Promise<{ max: number; p99: number; handoffs: number }> {
  const before = bus?.counters ?? { messages: 0, handoffs: 0 }
  const h = monitorEventLoopDelay({ resolution: 1 })
  h.enable()
  await flood(bus === undefined ? `${channel}:elsewhere` : channel)
  while (bus !== undefined && bus.counters.messages - before.messages < MESSAGES) await sleep(10)
  await sleep(100)
  h.disable()
  return { max: h.max / 1e6, p99: h.percentile(99) / 1e6, handoffs: (bus?.counters.handoffs ?? 0) - before.handoffs }
}

const redis = new Redis(url, { maxRetriesPerRequest: 1 })
const channel = `kwbench:bus:${randomBytes(4).toString('hex')}`
const variants: { name: string; bus: RedisInvalidation | undefined }[] = [{ name: 'baseline (flood on another channel)', bus: undefined }]
for (const subscriber of ['thread', 'worker'] as const) {
  // One clear per hour at most: the flood's cost is the reading, not the clears.
  const bus = redisInvalidation(redis, { channel, subscriber, heartbeatMs: 0, outageClearMs: 3_600_000 })
  await bus.attach({ invalidate: () => undefined, clear: () => undefined })
  variants.push({ name: `subscriber: ${bus.subscriber}`, bus })
}
const results = new Map<string, { max: number[]; p99: number[]; handoffs: number[] }>(variants.map((v) => [v.name, { max: [], p99: [], handoffs: [] }]))
for (let r = 0; r < ROUNDS; r++) {
  for (const v of variants) {
    // Only the variant measured listens: the other bus is detached for the round.
    const others = variants.filter((o) => o !== v && o.bus !== undefined)
    await Promise.all(others.map((o) => o.bus!.close()))
    if (v.bus !== undefined) await v.bus.attach({ invalidate: () => undefined, clear: () => undefined })
    const res = await round(channel, v.bus)
    const acc = results.get(v.name)!
    acc.max.push(res.max)
    acc.p99.push(res.p99)
    acc.handoffs.push(res.handoffs)
  }
}
const fmt = (xs: number[]): string => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`
console.log(`# Invalidation bus under a flood of ${MESSAGES} forged messages (${ROUNDS} rounds, load ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')})\n`)
console.log('| variant | event-loop delay max, ms | p99, ms | main-thread handoffs per flood |')
console.log('|---|---:|---:|---:|')
for (const [name, r] of results) console.log(`| ${name} | ${fmt(r.max)} | ${fmt(r.p99)} | ${name.startsWith('baseline') ? '-' : fmt(r.handoffs).replace(/\.0/g, '')} |`)
for (const v of variants) await v.bus?.close()
redis.disconnect()
