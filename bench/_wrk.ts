/**
 * What the HTTP sections of `npm run bench` (`http.ts`, `attribution.ts`) share: starting the
 * server processes (`_http-server.ts`), pinning them, driving them with `wrk` in interleaved
 * rounds, and reading each server's CPU time and garbage collections over IPC.
 *
 * Knobs: BENCH_HTTP_ROUNDS (default 8), BENCH_HTTP_SECONDS (default 2), BENCH_HTTP_CONNECTIONS
 * (default 32), BENCH_HTTP_FRAMEWORKS (default all; e.g. `fastify,koa`), BENCH_HTTP_CPU_PROF (a
 * folder: every server profiles itself after setup and writes `<framework>-<variant>.cpuprofile`
 * there when stopped; `npx tsx bench/profile.ts <folder>` compares them).
 * @module
 */
import { execFile, fork, type ChildProcess } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { FRAMEWORKS, type Framework, type FromServer, type GcCounts, type ToServer, type Variant } from './_http-server.js'

export const ROUNDS = Math.max(1, Number(process.env.BENCH_HTTP_ROUNDS ?? 8))
export const SECONDS = Math.max(1, Number(process.env.BENCH_HTTP_SECONDS ?? 2))
export const CONNECTIONS = Math.max(1, Number(process.env.BENCH_HTTP_CONNECTIONS ?? 32))
export const SERVER_CPU = '1'
export const CLIENT_CPU = '0'

/** BENCH_HTTP_FRAMEWORKS=fastify,koa runs those only (default: all). */
export const SELECTED: readonly Framework[] = (() => {
  const wanted = process.env.BENCH_HTTP_FRAMEWORKS?.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (wanted === undefined || wanted.length === 0) return FRAMEWORKS
  const unknown = wanted.filter((w) => !(FRAMEWORKS as readonly string[]).includes(w))
  if (unknown.length > 0) throw new RangeError(`BENCH_HTTP_FRAMEWORKS: unknown ${unknown.join(', ')} (known: ${FRAMEWORKS.join(', ')})`)
  return FRAMEWORKS.filter((f) => wanted.includes(f))
})()

/** The absolute path of `name` on PATH, or undefined. */
export function which(name: string): string | undefined {
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

export function exec(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

export interface Server {
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

/** The server's CPU time and garbage collections so far. */
async function reading(s: Server): Promise<Extract<FromServer, { type: 'cpu' }>> {
  const reply = next(s.child, 'cpu')
  s.child.send({ type: 'cpu' } satisfies ToServer)
  return (await reply) as Extract<FromServer, { type: 'cpu' }>
}

/** Variants that authenticate: they must refuse a request without a credential. */
const GUARDED: ReadonlySet<Variant> = new Set(['keyward', 'peer', 'floor'])

/** Makes sure each server does what its row claims: allows the right credential, and (if it guards) refuses none. */
async function check(s: Server): Promise<void> {
  const ok = await fetch(s.url, { headers: { [s.header]: s.value } })
  await ok.arrayBuffer()
  if (ok.status !== 200) throw new Error(`${s.framework}/${s.variant}: the benchmark credential got ${ok.status}`)
  if (GUARDED.has(s.variant)) {
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

/** One variant's run in one round. */
export interface Sample {
  readonly rps: number
  readonly p99ms: number
  /** User + system CPU µs per request. */
  readonly cpuUs: number
  /** User CPU only (the JavaScript side: frameworks, middleware, GC), µs per request. */
  readonly userUs: number
  /** Young-generation collections (scavenges) per 1,000 requests. */
  readonly minorPerK: number
  readonly errors: number
}

/** What {@link measure} gives: the samples of every server, a round per entry. */
export interface Measured {
  readonly samples: ReadonlyMap<string, readonly Sample[]>
  readonly pinned: boolean
  readonly rounds: number
}

/** Key of a framework's variant in {@link Measured.samples}. */
export const keyOf = (f: Framework, v: Variant): string => `${f}/${v}`

const gcDelta = (a: GcCounts, b: GcCounts) => ({ minor: b.minor - a.minor, ms: b.ms - a.ms })

/**
 * Starts a server per framework and variant, checks each, warms each up, then runs `ROUNDS`
 * interleaved rounds: a framework's variants back to back, the order reversed every other round.
 * Stops every server before it returns or throws.
 */
export async function measure(wrk: string, frameworks: readonly Framework[], variants: readonly Variant[]): Promise<Measured> {
  const taskset = which('taskset')
  const servers: Server[] = []
  try {
    for (const f of frameworks) for (const v of variants) servers.push(await start(f, v))
    if (taskset) for (const s of servers) await exec(taskset, ['-a', '-p', '-c', SERVER_CPU, String(s.child.pid)])
    for (const s of servers) await check(s)
    // Warm-up: JIT and connection setup, not measured.
    for (const s of servers) await load(wrk, taskset, s, 1)
    const samples = new Map<string, Sample[]>(servers.map((s) => [keyOf(s.framework, s.variant), []]))
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? servers : [...servers].reverse()
      for (const s of order) {
        const before = await reading(s)
        const r = await load(wrk, taskset, s, SECONDS)
        const after = await reading(s)
        const n = r.requests > 0 ? r.requests : NaN
        const gc = gcDelta(before.gc, after.gc)
        samples.get(keyOf(s.framework, s.variant))!.push({
          rps: r.rps,
          p99ms: r.p99ms,
          cpuUs: (after.usage.user + after.usage.system - before.usage.user - before.usage.system) / n,
          userUs: (after.usage.user - before.usage.user) / n,
          minorPerK: (1000 * gc.minor) / n,
          errors: r.errors,
        })
      }
    }
    return { samples, pinned: taskset !== undefined, rounds: ROUNDS }
  } finally {
    await stopAll(servers)
  }
}

async function stopAll(servers: readonly Server[]): Promise<void> {
  for (const s of servers) {
    if (s.child.connected) s.child.send({ type: 'stop' } satisfies ToServer)
  }
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve()
          // A profiling server writes its profile first: give it time on a loaded machine.
          const t = setTimeout(() => s.child.kill('SIGKILL'), process.env.BENCH_HTTP_CPU_PROF ? 120_000 : 5000)
          s.child.once('exit', () => {
            clearTimeout(t)
            resolve()
          })
        }),
    ),
  )
}

let shared: { readonly variants: readonly Variant[]; readonly run: Promise<Measured> } | undefined

/**
 * {@link measure} once per process: the HTTP and attribution sections of one `npm run bench`
 * read the same rounds, so the attribution's bare-to-keyward total is the HTTP table's overhead.
 * A later call asking for a variant the first did not measure measures again.
 */
export function measureShared(wrk: string, variants: readonly Variant[]): Promise<Measured> {
  if (shared === undefined || !variants.every((v) => shared!.variants.includes(v))) shared = { variants, run: measure(wrk, SELECTED, variants) }
  return shared.run
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** The 25th and 75th percentiles (nearest rank). */
export const quartiles = (xs: readonly number[]): [number, number] => {
  const s = [...xs].sort((a, b) => a - b)
  return [s[Math.floor((s.length - 1) / 4)]!, s[Math.ceil((3 * (s.length - 1)) / 4)]!]
}

export const fmt = (x: number, digits = 0): string => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
export const signed = (x: number, digits: number, unit = ''): string => `${x >= 0 ? '+' : '−'}${fmt(Math.abs(x), digits)}${unit}`
