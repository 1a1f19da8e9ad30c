/**
 * Attribution section of `npm run bench` (alone: `npm run bench -- attribution`): where each µs
 * that the keyward guard adds to a request over HTTP goes.
 *
 * Over HTTP, each framework is served in the steps of `STEPS` (`bench/_http-server.ts`), each
 * adding one thing to the one before: keyward's heap (the authorizer and its 10,000 keys, alive
 * but never called), a pass-through middleware where the guard goes, the guard itself over an
 * authorizer that answers the allowed decision from a settled promise (everything the guard does
 * but the core call: reading the request, the promise hop, settling, `next()`), and the real
 * guard. The rounds are the HTTP section's (`bench/http.ts`) when both run, so the steps add up to
 * its overhead. A step's cost is its server CPU µs per request minus the previous step's in the
 * same round, median over rounds, with the quartiles of the rounds as the spread.
 *
 * In process, each framework's servers of the same steps are driven without sockets
 * (`bench/_framework-loop.ts`), and the same allowed request goes to `authorize()` alone, to each guard, and to each
 * guard over the answering authorizer: CPU ns per call and bytes allocated per call
 * (`bench/_in-process.ts`).
 * @module
 */
import { STEPS, type Framework } from './_http-server.js'
import { frameworkLoop, LOOP_STEPS } from './_framework-loop.js'
import { inProcess } from './_in-process.js'
import { fmt, keyOf, measureShared, median, quartiles, SELECTED, signed, which, type Sample } from './_wrk.js'
import { FRAMEWORK_NAME } from './http.js'
import type { BenchSection } from './run.js'

const TITLE = 'Attribution: where each µs of the guard goes'

type Step = (typeof STEPS)[number]
const WHAT: Record<Step, string> = {
  bare: 'bare server',
  heap: "+ keyward's heap (10,000 keys held, never called)",
  layer: '+ a pass-through middleware in the guard’s place',
  glue: '+ the guard’s own work (decision answered, core not called)',
  keyward: '+ the core call (`authorize()`): the real guard',
}

function httpRows(samples: ReadonlyMap<string, readonly Sample[]>): { lines: string[]; totals: string[] } {
  const lines = [
    '| framework | step | server CPU µs/req | step adds µs/req (median) | p25–p75 of rounds | user-CPU adds | scavenges / 1k req |',
    '|---|---|---:|---:|---:|---:|---:|',
  ]
  const totals: string[] = []
  for (const f of SELECTED as readonly Framework[]) {
    let prev: readonly Sample[] | undefined
    for (const step of STEPS) {
      const xs = samples.get(keyOf(f, step))!
      const row = [FRAMEWORK_NAME[f], WHAT[step], fmt(median(xs.map((x) => x.cpuUs)), 1)]
      if (prev === undefined) row.push('—', '—', '—')
      else {
        const p = prev
        const d = xs.map((x, k) => x.cpuUs - p[k]!.cpuUs)
        const [lo, hi] = quartiles(d)
        row.push(signed(median(d), 1), `${signed(lo, 1)} … ${signed(hi, 1)}`, signed(median(xs.map((x, k) => x.userUs - p[k]!.userUs)), 1))
      }
      row.push(fmt(median(xs.map((x) => x.minorPerK)), 1))
      lines.push(`| ${row.join(' | ')} |`)
      prev = xs
    }
    const bare = samples.get(keyOf(f, 'bare'))!
    const total = samples.get(keyOf(f, 'keyward'))!.map((x, k) => x.cpuUs - bare[k]!.cpuUs)
    const [lo, hi] = quartiles(total)
    totals.push(`${FRAMEWORK_NAME[f]}: bare → keyward ${signed(median(total), 1)} µs/req (rounds p25–p75 ${signed(lo, 1)} … ${signed(hi, 1)}; bare ${fmt(median(bare.map((x) => x.cpuUs)), 1)} µs/req).`)
  }
  return { lines, totals }
}

function loopRows(ns: Awaited<ReturnType<typeof frameworkLoop>>['ns']): string[] {
  const lines = ['| framework in process | step | CPU ns/req | step adds ns (median) | p25–p75 of rounds |', '|---|---|---:|---:|---:|']
  for (const f of SELECTED as readonly Framework[]) {
    let prev: readonly number[] | undefined
    for (const step of LOOP_STEPS) {
      const r = ns.get(`${f}/${step}`)!
      const row = [FRAMEWORK_NAME[f], WHAT[step], fmt(r.median)]
      if (prev === undefined) row.push('—', '—')
      else {
        const p = prev
        const d = r.rounds.map((x, k) => x - p[k]!)
        const [lo, hi] = quartiles(d)
        row.push(signed(median(d), 0), `${signed(lo, 0)} … ${signed(hi, 0)}`)
      }
      lines.push(`| ${row.join(' | ')} |`)
      prev = r.rounds
    }
  }
  return lines
}

/** Runs the attribution section. See the module comment for the method. */
export async function run(): Promise<BenchSection> {
  const notes: string[] = []
  const table: string[] = []
  const wrk = which('wrk')
  if (wrk === undefined) {
    table.push('_HTTP steps skipped: `wrk` is not installed._', '')
    notes.push('Install `wrk` for the HTTP steps (Debian/Ubuntu: `apt-get install wrk`).')
  } else {
    const m = await measureShared(wrk, STEPS)
    const { lines, totals } = httpRows(m.samples)
    table.push(...lines, '')
    notes.push(
      ...totals,
      `HTTP: ${m.rounds} interleaved rounds, wrk and the servers ${m.pinned ? 'pinned apart (taskset)' : 'unpinned'}, as in the HTTP section. "Step adds": the step's server CPU µs/req minus the previous step's in the same round, median over rounds; the p25–p75 column is the spread of that difference over rounds (on a loaded machine it often spans zero: read the medians of several runs). Scavenges (young-generation collections) per 1,000 requests: counted by a PerformanceObserver in the server.`,
    )
  }
  const loop = await frameworkLoop(SELECTED)
  table.push(...loopRows(loop.ns), '')
  notes.push(
    "Framework in process: each step's request listener called with a Node IncomingMessage/ServerResponse over a socket that discards writes, one request at a time (`bench/_framework-loop.ts`): framework, guard and core as over HTTP, without the kernel, the HTTP parser or wrk. CPU ns per request; a step's cost is its ns minus the previous step's in the same round, median over rounds (p25–p75 of the rounds).",
  )
  const rows = await inProcess()
  const core = rows.find((r) => r.name === 'authorize()')!
  table.push('| in process | ns/call | p25–p75 ns | beyond authorize() ns | bytes allocated/call |', '|---|---:|---:|---:|---:|')
  for (const r of rows) {
    const beyond = r === core || r.name.includes('answered') ? '—' : signed(r.ns - core.ns, 0)
    table.push(`| ${r.name} | ${fmt(r.ns)} | ${fmt(r.spread[0])}–${fmt(r.spread[1])} | ${beyond} | ${fmt(r.bytes)} |`)
  }
  notes.push(
    'In process: CPU ns per awaited call, interleaved rounds, median (quartiles of the rounds); "decision answered": the guard over an authorizer that returns the allowed decision from a settled promise, so the row is the guard\'s own work (reading the request, the promise hop, settling, the callback). Bytes: growth of V8\'s young generation per call after a full collection, batches with a scavenge dropped, the awaiting loop\'s own bytes subtracted.',
  )
  return { title: TITLE, table: table.join('\n'), notes }
}
