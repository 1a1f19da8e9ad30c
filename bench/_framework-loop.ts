/**
 * The framework half of `bench/attribution.ts`, in process: each framework's server of each step
 * (`bench/_http-server.ts`), its request listener called with a Node `IncomingMessage` and
 * `ServerResponse` over a socket that discards what is written, one request at a time, awaited
 * until the response finishes. The framework, the guard and the core run as over HTTP; the
 * kernel, the HTTP parser and the load generator do not, and neither does any other process: the
 * cost is this process's CPU time per request, steadier on a loaded machine than the server CPU
 * of the HTTP section. Every step builds its own server; the heap is shared, so the `heap` step
 * is left out here (the HTTP section measures it).
 * @module
 */
import { IncomingMessage, ServerResponse, type RequestListener } from 'node:http'
import { Duplex } from 'node:stream'
import { build, type Framework } from './_http-server.js'
import { median, quartiles } from './_wrk.js'

export const LOOP_STEPS = ['bare', 'layer', 'glue', 'keyward'] as const
export type LoopStep = (typeof LOOP_STEPS)[number]
const ROUNDS = 11
const WARM_ROUNDS = 2
const BATCH = 2_000
/** What `wrk` sends; the credential is appended. */
const FIELDS = ['Host', '127.0.0.1:8080']

/** A connected socket that accepts and discards every write. */
class NullSocket extends Duplex {
  readonly remoteAddress = '127.0.0.1'
  readonly remotePort = 50_000
  override _read(): void {}
  override _write(_chunk: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    callback()
  }
  override _writev(_chunks: unknown, callback: (error?: Error | null) => void): void {
    callback()
  }
  setTimeout(): this {
    return this
  }
  setNoDelay(): this {
    return this
  }
  setKeepAlive(): this {
    return this
  }
}

type Request = () => Promise<number>

/** One request through `listener`, resolving to the response's status once it has finished. */
function requester(listener: RequestListener, header: string, value: string): Request {
  const rawHeaders = [...FIELDS, header, value]
  const headers: Record<string, string> = { host: FIELDS[1]!, [header]: value }
  return () =>
    new Promise<number>((resolve, reject) => {
      const socket = new NullSocket()
      const req = new IncomingMessage(socket as never)
      req.method = 'GET'
      req.url = '/scans'
      req.httpVersion = '1.1'
      req.httpVersionMajor = 1
      req.httpVersionMinor = 1
      req.headers = headers
      req.rawHeaders = rawHeaders
      req.push(null)
      const res = new ServerResponse(req)
      res.assignSocket(socket as never)
      res.once('finish', () => {
        res.detachSocket(socket as never)
        resolve(res.statusCode)
      })
      res.once('error', reject)
      listener(req, res)
    })
}

/** Per framework and step: CPU ns per request, median over rounds, and the rounds' quartiles. */
export interface LoopResult {
  readonly ns: ReadonlyMap<string, { readonly median: number; readonly spread: readonly [number, number]; readonly rounds: readonly number[] }>
}

const cpuNow = (): number => {
  const u = process.cpuUsage()
  return u.user + u.system
}

/** Builds every server, checks each answers 200, then runs interleaved rounds. */
export async function frameworkLoop(frameworks: readonly Framework[]): Promise<LoopResult> {
  const cases = new Map<string, Request>()
  for (const f of frameworks) {
    for (const step of LOOP_STEPS) {
      const { server, header, value } = await build(f, step)
      const listener = server.listeners('request')[0] as RequestListener | undefined
      if (listener === undefined) throw new Error(`bench: ${f}/${step} has no request listener`)
      const run = requester(listener, header, value)
      const status = await run()
      if (status !== 200) throw new Error(`bench: ${f}/${step} answered ${status} in process, expected 200`)
      cases.set(`${f}/${step}`, run)
    }
  }
  const names = [...cases.keys()]
  const ns = new Map<string, number[]>(names.map((n) => [n, []]))
  for (let r = 0; r < ROUNDS; r++) {
    for (const n of r % 2 === 0 ? names : [...names].reverse()) {
      const run = cases.get(n)!
      const t = cpuNow()
      for (let i = 0; i < BATCH; i++) await run()
      if (r >= WARM_ROUNDS) ns.get(n)!.push(((cpuNow() - t) * 1000) / BATCH)
    }
  }
  return { ns: new Map([...ns].map(([k, xs]) => [k, { median: median(xs), spread: quartiles(xs), rounds: xs }])) }
}
