/**
 * HTTP section of `npm run bench`: each framework bare, with the keyward guard, with the usual
 * peer, and with the floor of any stored-key check (SHA-256 of the header and one `Map` lookup,
 * hand-written), over loopback, driven by `wrk` in the same run.
 *
 * Method (the one keyward's performance targets are stated in):
 * - every variant is its own server process (`bench/_http-server.ts`), all started up front and
 *   pinned to CPU 1 with `taskset`; `wrk` is pinned to CPU 0, so the load generator never takes
 *   the server's CPU;
 * - variants are interleaved: each round runs every variant once, a framework's variants back
 *   to back and the order reversed every other round, so a change in the machine's load hits the
 *   variants compared alike; many short rounds, medians reported, the per-round spread printed;
 * - the cost of a request is the server's own CPU time (`process.cpuUsage()`, read over IPC before
 *   and after each run) divided by the requests `wrk` completed: on a shared machine that is what
 *   stays comparable, while requests/s and latency move with whatever else runs;
 * - "overhead" is a variant's CPU µs per request minus the bare server's, in the same round
 *   (median over rounds), and the same as a percentage of the bare server's.
 *
 * The same rounds also serve the attribution section's steps (`bench/attribution.ts`), so the
 * two sections read one set of measurements. Without `wrk` the section is skipped with a note
 * (`apt-get install wrk`); without `taskset` it runs unpinned and says so. Knobs: see
 * `bench/_wrk.ts` (BENCH_HTTP_ROUNDS, BENCH_HTTP_SECONDS, BENCH_HTTP_CONNECTIONS,
 * BENCH_HTTP_FRAMEWORKS, BENCH_HTTP_CPU_PROF).
 * @module
 */
import { STEPS, STORE_KEYS, VARIANTS, type Framework } from './_http-server.js'
import { CLIENT_CPU, CONNECTIONS, fmt, keyOf, measureShared, median, SECONDS, SELECTED, SERVER_CPU, signed, which, type Sample } from './_wrk.js'
import type { BenchSection } from './run.js'

const TITLE = 'HTTP: adapters over loopback (wrk)'

const FRAMEWORK_NAME: Record<Framework, string> = { express: 'Express 5', koa: 'Koa 3', hono: 'Hono 4 (@hono/node-server)', fastify: 'Fastify 5' }
type Row = (typeof VARIANTS)[number]
const FLOOR = 'floor: SHA-256 of X-Api-Key + `Map.has` (hand-written)'
const VARIANT_NAME: Record<Framework, Record<Row, string>> = {
  express: { bare: 'bare', keyward: 'keyward guard', peer: 'passport-headerapikey', floor: FLOOR },
  koa: { bare: 'bare', keyward: 'keyward guard', peer: 'hand-written Map check of X-Api-Key', floor: FLOOR },
  hono: { bare: 'bare', keyward: 'keyward guard', peer: '`hono/bearer-auth` (`token`)', floor: FLOOR },
  fastify: { bare: 'bare', keyward: 'keyward plugin + `requireKey` hook', peer: '`@fastify/bearer-auth` (`keys`)', floor: FLOOR },
}
/** keyward's targets: CPU added per request (absolute), and as a share of the bare server's. */
const ABS_TARGET: Record<Framework, string> = { express: '≤ 5% of bare', koa: '≤ +5 µs', hono: '≤ +7 µs', fastify: '≤ +5 µs' }
const ABS_US: Partial<Record<Framework, number>> = { koa: 5, hono: 7, fastify: 5 }
const PCT_TARGET: Partial<Record<Framework, number>> = { express: 3, koa: 10, hono: 15 }
export { FRAMEWORK_NAME }

/** Runs the HTTP section. See the module comment for the method. */
export async function run(): Promise<BenchSection> {
  const wrk = which('wrk')
  if (wrk === undefined) {
    return {
      title: TITLE,
      table: '_skipped: `wrk` is not installed._',
      notes: ['Install it to run this section (Debian/Ubuntu: `apt-get install wrk`); the core section above does not need it.'],
    }
  }
  const notes: string[] = []
  // The attribution section's steps run in the same rounds (see bench/attribution.ts).
  const m = await measureShared(wrk, [...new Set([...STEPS, ...VARIANTS])])
  if (!m.pinned) notes.push('**`taskset` not found: servers and wrk ran unpinned**, sharing CPUs; CPU µs per request still counts only the server process.')
  const samples = (f: Framework, v: Row): readonly Sample[] => m.samples.get(keyOf(f, v))!
  return report(m.rounds, m.pinned, samples, notes)
}

function report(rounds: number, pinned: boolean, samples: (f: Framework, v: Row) => readonly Sample[], notes: string[]): BenchSection {
  const lines = [
    '| framework | variant | req/s | p99 ms | server CPU µs/req | overhead µs/req | overhead % | user-CPU overhead µs/req | req/s vs bare |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ]
  const verdicts: string[] = []
  for (const f of SELECTED) {
    const bare = samples(f, 'bare')
    const overheads: Partial<Record<Row, { us: number; pct: number; rounds: number[] }>> = {}
    for (const v of VARIANTS) {
      const xs = samples(f, v)
      const errors = xs.reduce((a, x) => a + x.errors, 0)
      if (errors > 0) notes.push(`${FRAMEWORK_NAME[f]} / ${VARIANT_NAME[f][v]}: ${errors} non-2xx responses or socket errors (this row is suspect).`)
      const row = [FRAMEWORK_NAME[f], VARIANT_NAME[f][v], fmt(median(xs.map((x) => x.rps))), fmt(median(xs.map((x) => x.p99ms)), 2), fmt(median(xs.map((x) => x.cpuUs)), 1)]
      if (v === 'bare') row.push('—', '—', '—', '—')
      else {
        // Paired by round: the variant and the bare server ran minutes apart at most.
        const us = median(xs.map((x, k) => x.cpuUs - bare[k]!.cpuUs))
        const pct = median(xs.map((x, k) => (100 * (x.cpuUs - bare[k]!.cpuUs)) / bare[k]!.cpuUs))
        const user = median(xs.map((x, k) => x.userUs - bare[k]!.userUs))
        const rps = median(xs.map((x, k) => (100 * (x.rps - bare[k]!.rps)) / bare[k]!.rps))
        overheads[v] = { us, pct, rounds: xs.map((x, k) => x.cpuUs - bare[k]!.cpuUs) }
        row.push(signed(us, 1), signed(pct, 1, '%'), signed(user, 1), signed(rps, 1, '%'))
      }
      lines.push(`| ${row.join(' | ')} |`)
    }
    const k = overheads.keyward!
    const p = overheads.peer!
    const fl = overheads.floor!
    const beyond = median(k.rounds.map((x, r) => x - fl.rounds[r]!))
    const absUs = ABS_US[f]
    const pct = PCT_TARGET[f]
    const absMet = absUs === undefined ? k.pct <= 5 : k.us <= absUs
    verdicts.push(
      `${FRAMEWORK_NAME[f]}: keyward adds ${signed(k.us, 1)} µs (${signed(k.pct, 1, '%')}) per request; keyward's targets: ${ABS_TARGET[f]} (${absMet ? 'met' : 'missed'})` +
        `${pct === undefined ? '' : `, ≤ ${pct}% of bare (${k.pct <= pct ? 'met' : 'missed'})`}; ` +
        `${k.us < p.us ? 'below' : 'not below'} the peer (${signed(p.us, 1)} µs). ` +
        `The floor (hash + lookup) adds ${signed(fl.us, 1)} µs; keyward adds ${signed(beyond, 1)} µs beyond it (paired by round). ` +
        `Per round, µs added: keyward ${k.rounds.map((x) => signed(x, 1)).join(', ')}; peer ${p.rounds.map((x) => signed(x, 1)).join(', ')}; floor ${fl.rounds.map((x) => signed(x, 1)).join(', ')}.`,
    )
  }
  notes.push(
    ...verdicts,
    `Method: ${rounds} interleaved rounds (order reversed every other round) of ${SECONDS} s per variant after a 1 s warm-up; wrk -t1 -c${CONNECTIONS} --latency${pinned ? ` pinned to CPU ${CLIENT_CPU}, every server pinned to CPU ${SERVER_CPU} (taskset)` : ''}. Medians over rounds. Server CPU µs/req: the server process's user+system CPU time (process.cpuUsage over IPC) during the run ÷ requests wrk completed. Overhead: variant − bare in the same round, median over rounds; % of bare's CPU µs/req. User-CPU overhead: the same with user time only; the kernel's share (loopback TCP, waking wrk) grows per request when a server is slower, so the total charges a slower variant a little more than the JavaScript it runs.`,
    `Every variant serves GET /scans → {"ok":true}. keyward: X-Api-Key with a valid key among ${STORE_KEYS.toLocaleString('en-US')} in a MemoryKeyStore, route needs \`scans:read\`, default options (last-used times, breaker). Peers keep the plaintext key in a Map, check nothing but its presence and grant no permission. The floor keeps the SHA-256 of ${STORE_KEYS.toLocaleString('en-US')} keys in a Map and checks the header's hash is there: what any check of stored, hashed keys pays at least. Each server was checked to allow the benchmark credential and (but bare) to refuse a request without one.`,
  )
  return { title: TITLE, table: lines.join('\n'), notes }
}
