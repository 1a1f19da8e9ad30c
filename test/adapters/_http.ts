/**
 * Real HTTP on 127.0.0.1 only: starting and closing servers on ephemeral ports, and a client that
 * sends with Node's `fetch` when it can, and with `node:http` or a raw socket when fetch cannot
 * (fetch joins repeated fields into one line and refuses some bytes).
 */
import { request as httpRequest, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'

/** Listens on an ephemeral loopback port; resolves to the base URL. */
export function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    })
  })
}

/** Closes a server, dropping idle keep-alive connections (fetch keeps them open). */
export function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()))
    server.closeAllConnections()
  })
}

export type Via = 'fetch' | 'http' | 'socket'

export interface Req {
  readonly method: string
  readonly path: string
  /** Header fields in order; a name may repeat. Values are sent as latin1 bytes. */
  readonly headers?: readonly (readonly [string, string])[]
  /** Default: `fetch`, or `http` when a field repeats. */
  readonly via?: Via
}

/** The headers the identical-bytes test compares. */
export const COMPARED = [
  'content-type',
  'cache-control',
  'www-authenticate',
  'retry-after',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'x-credits-remaining',
] as const

export interface Res {
  readonly status: number
  readonly headers: Readonly<Record<(typeof COMPARED)[number], string | undefined>>
  readonly body: string
}

function pick(get: (name: string) => string | undefined): Res['headers'] {
  const out: Record<string, string | undefined> = {}
  for (const h of COMPARED) out[h] = get(h)
  return out as Res['headers']
}

/** Sends one request to `base` and reads status, compared headers and body. */
export async function send(base: string, req: Req): Promise<Res> {
  const fields = req.headers ?? []
  const repeats = new Set(fields.map(([n]) => n.toLowerCase())).size !== fields.length
  // fetch sets Host itself, whatever it is given.
  const host = fields.some(([n]) => n.toLowerCase() === 'host')
  const via = req.via ?? (repeats || host ? 'http' : 'fetch')
  if (via === 'fetch') {
    const r = await fetch(base + req.path, { method: req.method, headers: fields.map(([n, v]) => [n, v] as [string, string]) })
    return { status: r.status, headers: pick((h) => r.headers.get(h) ?? undefined), body: await r.text() }
  }
  if (via === 'http') return viaHttp(base, req.method, req.path, fields)
  return viaSocket(base, req.method, req.path, fields)
}

function viaHttp(base: string, method: string, path: string, fields: readonly (readonly [string, string])[]): Promise<Res> {
  return new Promise((resolve, reject) => {
    // A raw header array replaces Node's defaults, Host included (HTTP/1.1 servers refuse a request without it).
    const own = fields.some(([n]) => n.toLowerCase() === 'host')
    const headers = [...(own ? [] : ['Host', new URL(base).host]), ...fields.flat()]
    const r = httpRequest(base + path, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const get = (h: string) => {
          const v = res.headers[h]
          return Array.isArray(v) ? v.join(', ') : v
        }
        resolve({ status: res.statusCode ?? 0, headers: pick(get), body: Buffer.concat(chunks).toString('utf8') })
      })
      res.on('error', reject)
    })
    r.on('error', reject)
    r.end()
  })
}

/** Writes the request bytes as given (Node's client refuses control characters) and parses the reply. */
function viaSocket(base: string, method: string, path: string, fields: readonly (readonly [string, string])[]): Promise<Res> {
  const { port } = new URL(base)
  const own = fields.some(([n]) => n.toLowerCase() === 'host')
  const head = [`${method} ${path} HTTP/1.1`, ...(own ? [] : [`Host: 127.0.0.1:${port}`]), 'Connection: close', ...fields.map(([n, v]) => `${n}: ${v}`)]
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const s = connect(Number(port), '127.0.0.1', () => s.end(Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1')))
    s.on('data', (c: Buffer) => chunks.push(c))
    s.on('error', reject)
    s.on('close', () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks)))
      } catch (e) {
        reject(e)
      }
    })
  })
}

function parseResponse(raw: Buffer): Res {
  const end = raw.indexOf('\r\n\r\n')
  if (end < 0) throw new Error('no complete response head')
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1])
  const headers = new Map<string, string>()
  for (const line of lines) {
    const i = line.indexOf(':')
    const name = line.slice(0, i).trim().toLowerCase()
    const value = line.slice(i + 1).trim()
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value)
  }
  let body = raw.subarray(end + 4)
  if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') {
    const parts: Buffer[] = []
    let at = 0
    for (;;) {
      const eol = body.indexOf('\r\n', at)
      const size = parseInt(body.subarray(at, eol).toString('latin1'), 16)
      if (!(size > 0)) break
      parts.push(body.subarray(eol + 2, eol + 2 + size))
      at = eol + 2 + size + 2
    }
    body = Buffer.concat(parts)
  }
  return { status, headers: pick((h) => headers.get(h)), body: body.toString('utf8') }
}
