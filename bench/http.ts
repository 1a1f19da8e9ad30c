/**
 * HTTP section of `npm run bench`: each framework bare, with the keyward guard, and with the usual
 * peer, over loopback, driven by `wrk` in the same run.
 *
 * Method (the one keyward's performance targets are stated in):
 * - every variant is its own server process (`bench/_http-server.ts`), all started up front and
 *   pinned to CPU 1 with `taskset`; `wrk` is pinned to CPU 0, so the load generator never takes
 *   the server's CPU;
 * - variants are interleaved: each round runs every variant once, a framework's three back to
 *   back and the order reversed every other round, so a change in the machine's load hits the
 *   variants compared alike; many short rounds, medians reported, the per-round spread printed;
 * - the cost of a request is the server's own CPU time (`process.cpuUsage()`, read over IPC before
 *   and after each run) divided by the requests `wrk` completed: on a shared machine that is what
 *   stays comparable, while requests/s and latency move with whatever else runs;
 * - "overhead" is a variant's CPU µs per request minus the bare server's, in the same round
 *   (median over rounds), and the same as a percentage of the bare server's.
 *
 * Without `wrk` the section is skipped with a note (`apt-get install wrk`); without `taskset` it
 * runs unpinned and says so. Knobs: BENCH_HTTP_ROUNDS (default 8), BENCH_HTTP_SECONDS (default 2),
 * BENCH_HTTP_CONNECTIONS (default 32), BENCH_HTTP_FRAMEWORKS (default all; e.g. `fastify,koa`).
 * @module
 */
import { execFile, fork, type ChildProcess } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { FRAMEWORKS, STORE_KEYS, VARIANTS, type Framework, type FromServer, type ToServer, type Variant } from './_http-server.js'
import type { BenchSection } from './run.js'

const TITLE = 'HTTP: adapters over loopback (wrk)'
const ROUNDS = Math.max(1, Number(process.env.BENCH_HTTP_ROUNDS ?? 8))
const SECONDS = Math.max(1, Number(process.env.BENCH_HTTP_SECONDS ?? 2))
const CONNECTIONS = Math.max(1, Number(process.env.BENCH_HTTP_CONNECTIONS ?? 32))
const SERVER_CPU = '1'
const CLIENT_CPU = '0'

const FRAMEWORK_NAME: Record<Framework, string> = { express: 'Express 5', koa: 'Koa 3', hono: 'Hono 4 (@hono/node-server)', fastify: 'Fastify 5' }
const VARIANT_NAME: Record<Framework, Record<Variant, string>> = {
  express: { bare: 'bare', keyward: 'keyward guard', peer: 'passport-headerapikey' },
  koa: { bare: 'bare', keyward: 'keyward guard', peer: 'hand-written Map check of X-Api-Key' },
  hono: { bare: 'bare', keyward: 'keyward guard', peer: '`hono/bearer-auth` (`token`)' },
  fastify: { bare: 'bare', keyward: 'keyward plugin + `requireKey` hook', peer: '`@fastify/bearer-auth` (`keys`)' },
}
/** keyward's targets: CPU added per request (absolute), and as a share of the bare server's. */
const ABS_TARGET: Record<Framework, string> = { express: '≤ 5% of bare', koa: '≤ +5 µs', hono: '≤ +7 µs', fastify: '≤ +5 µs' }
const ABS_US: Partial<Record<Framework, number>> = { koa: 5, hono: 7, fastify: 5 }
const PCT_TARGET: Partial<Record<Framework, number>> = { express: 3, koa: 10, hono: 15 }
/** BENCH_HTTP_FRAMEWORKS=fastify,koa runs those only (default: all). */
const SELECTED: readonly Framework[] = (() => {
  const wanted = process.env.BENCH_HTTP_FRAMEWORKS?.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (wanted === undefined || wanted.length === 0) return FRAMEWORKS
  const unknown = wanted.filter((w) => !(FRAMEWORKS as readonly string[]).includes(w))
  if (unknown.length > 0) throw new RangeError(`BENCH_HTTP_FRAMEWORKS: unknown ${unknown.join(', ')} (known: ${FRAMEWORKS.join(', ')})`)
  return FRAMEWORKS.filter((f) => wanted.includes(f))
})()

/** The absolute path of `name` on PATH, or undefined. */
function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = `${dir}/${name}`
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch {
      // not here
    }
  }
  return undefined
}

function exec(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

interface Server {
  readonly framework: Framework
  readonly variant: Variant
  readonly child: ChildProcess
  readonly url: string
  readonly header: string
  readonly value: string
}

function next(child: ChildProcess, type: FromServer['type']): Promise<FromServer> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: FromServer) => {
      if (m.type === 'error') {
        cleanup()
        reject(new Error(m.message))
      } else if (m.type === type) {
        cleanup()
        resolve(m)
      }
    }
    const onExit = (code: number | null) => {
      cleanup()
      reject(new Error(`server exited (${code}) before '${type}'`))
    }
    const cleanup = () => {
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

async function start(framework: Framework, variant: Variant): Promise<Server> {
  const script = fileURLToPath(new URL('./_http-server.ts', import.meta.url))
  // process.execArgv carries tsx's loader when the bench runs under tsx (npm run bench).
  const child = fork(script, [framework, variant], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const ready = (await next(child, 'ready')) as Extract<FromServer, { type: 'ready' }>
  return { framework, variant, child, url: `http://127.0.0.1:${ready.port}/scans`, header: ready.header, value: ready.value }
}

async function cpuMicros(s: Server): Promise<NodeJS.CpuUsage> {
  const reply = next(s.child, 'cpu')
  s.child.send({ type: 'cpu' } satisfies ToServer)
  const m = (await reply) as Extract<FromServer, { type: 'cpu' }>
  return m.usage
}

/** Makes sure each server does what its row claims: allows the right credential, refuses none. */
async function check(s: Server): Promise<void> {
  const ok = await fetch(s.url, { headers: { [s.header]: s.value } })
  await ok.arrayBuffer()
  if (ok.status !== 200) throw new Error(`${s.framework}/${s.variant}: the benchmark credential got ${ok.status}`)
  if (s.variant !== 'bare') {
    const no = await fetch(s.url)
    await no.arrayBuffer()
    if (no.status !== 401) throw new Error(`${s.framework}/${s.variant}: a request without credentials got ${no.status}, expected 401`)
  }
}

interface WrkResult {
  readonly requests: number
  readonly rps: number
  readonly p99ms: number
  readonly errors: number
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 }

function parseWrk(out: string): WrkResult {
  const num = (re: RegExp, what: string): RegExpExecArray => {
    const m = re.exec(out)
    if (!m) throw new Error(`cannot read ${what} from wrk's output:\n${out}`)
    return m
  }
  const p99 = num(/^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$/m, 'the 99th percentile')
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  return {
    requests: Number(num(/(\d+) requests in/, 'the request count')[1]),
    rps: Number(num(/Requests\/sec:\s+([\d.]+)/, 'requests/s')[1]),
    p99ms: Number(p99[1]) * UNIT_MS[p99[2]!]!,
    errors: (non2xx ? Number(non2xx[1]) : 0) + (socket ? socket.slice(1).reduce((a, x) => a + Number(x), 0) : 0),
  }
}

async function load(wrk: string, taskset: string | undefined, s: Server, seconds: number): Promise<WrkResult> {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '-H', `${s.header}: ${s.value}`, s.url]
  const out = taskset ? await exec(taskset, ['-c', CLIENT_CPU, wrk, ...args]) : await exec(wrk, args)
  return parseWrk(out)
}

interface Sample {
  readonly rps: number
  readonly p99ms: number
  /** User + system CPU µs per request. */
  readonly cpuUs: number
  /** User CPU only (the JavaScript side: frameworks, middleware, GC), µs per request. */
  readonly userUs: number
  readonly errors: number
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

const fmt = (x: number, digits = 0): string => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const signed = (x: number, digits: number, unit = ''): string => `${x >= 0 ? '+' : '−'}${fmt(Math.abs(x), digits)}${unit}`

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
  const taskset = which('taskset')
  const notes: string[] = []
  if (taskset === undefined) notes.push('**`taskset` not found: servers and wrk ran unpinned**, sharing CPUs; CPU µs per request still counts only the server process.')

  const servers: Server[] = []
  try {
    for (const f of SELECTED) for (const v of VARIANTS) servers.push(await start(f, v))
    if (taskset) for (const s of servers) await exec(taskset, ['-a', '-p', '-c', SERVER_CPU, String(s.child.pid)])
    for (const s of servers) await check(s)
    // Warm-up: JIT and connection setup, not measured.
    for (const s of servers) await load(wrk, taskset, s, 1)

    const samples = new Map<Server, Sample[]>(servers.map((s) => [s, []]))
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? servers : [...servers].reverse()
      for (const s of order) {
        const before = await cpuMicros(s)
        const r = await load(wrk, taskset, s, SECONDS)
        const after = await cpuMicros(s)
        const n = r.requests > 0 ? r.requests : NaN
        samples.get(s)!.push({
          rps: r.rps,
          p99ms: r.p99ms,
          cpuUs: (after.user + after.system - before.user - before.system) / n,
          userUs: (after.user - before.user) / n,
          errors: r.errors,
        })
      }
    }

    const lines = [
      '| framework | variant | req/s | p99 ms | server CPU µs/req | overhead µs/req | overhead % | user-CPU overhead µs/req | req/s vs bare |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ]
    const verdicts: string[] = []
    for (const f of SELECTED) {
      const bare = samples.get(servers.find((s) => s.framework === f && s.variant === 'bare')!)!
      const overheads: Partial<Record<Variant, { us: number; pct: number; rounds: number[] }>> = {}
      for (const v of VARIANTS) {
        const xs = samples.get(servers.find((s) => s.framework === f && s.variant === v)!)!
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
      const absUs = ABS_US[f]
      const pct = PCT_TARGET[f]
      const absMet = absUs === undefined ? k.pct <= 5 : k.us <= absUs
      verdicts.push(
        `${FRAMEWORK_NAME[f]}: keyward adds ${signed(k.us, 1)} µs (${signed(k.pct, 1, '%')}) per request; keyward's targets: ${ABS_TARGET[f]} (${absMet ? 'met' : 'missed'})` +
          `${pct === undefined ? '' : `, ≤ ${pct}% of bare (${k.pct <= pct ? 'met' : 'missed'})`}; ` +
          `${k.us < p.us ? 'below' : 'not below'} the peer (${signed(p.us, 1)} µs). ` +
          `Per round, µs added: keyward ${k.rounds.map((x) => signed(x, 1)).join(', ')}; peer ${p.rounds.map((x) => signed(x, 1)).join(', ')}.`,
      )
    }
    notes.push(
      ...verdicts,
      `Method: ${ROUNDS} interleaved rounds (order reversed every other round) of ${SECONDS} s per variant after a 1 s warm-up; wrk -t1 -c${CONNECTIONS} --latency${taskset ? ` pinned to CPU ${CLIENT_CPU}, every server pinned to CPU ${SERVER_CPU} (taskset)` : ''}. Medians over rounds. Server CPU µs/req: the server process's user+system CPU time (process.cpuUsage over IPC) during the run ÷ requests wrk completed. Overhead: variant − bare in the same round, median over rounds; % of bare's CPU µs/req. User-CPU overhead: the same with user time only; the kernel's share (loopback TCP, waking wrk) grows per request when a server is slower, so the total charges a slower variant a little more than the JavaScript it runs.`,
      `Every variant serves GET /scans → {"ok":true}. keyward: X-Api-Key with a valid key among ${STORE_KEYS.toLocaleString('en-US')} in a MemoryKeyStore, route needs \`scans:read\`, default options (last-used times, breaker). Peers keep the plaintext key in a Map, check nothing but its presence and grant no permission. Each server was checked to allow the benchmark credential and (but bare) to refuse a request without one.`,
    )
    return { title: TITLE, table: lines.join('\n'), notes }
  } finally {
    for (const s of servers) {
      if (s.child.connected) s.child.send({ type: 'stop' } satisfies ToServer)
    }
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve()
            const t = setTimeout(() => s.child.kill('SIGKILL'), 5000)
            s.child.once('exit', () => {
              clearTimeout(t)
              resolve()
            })
          }),
      ),
    )
  }
}
