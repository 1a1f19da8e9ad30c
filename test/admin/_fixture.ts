/**
 * Shared set-up of the admin tests: one store, manager, authorizer and admin handler, with an
 * org admin key in tenant `acme` and one in tenant `globex`, and a helper that calls the handler
 * with a real Fetch `Request`.
 */
import { createAuthorizer, KeyManager, MemoryKeyStore, type AuthorizerOptions, type KeyRecord, type Roles } from '../../src/index.js'
import { createAdminHandler, type AdminAuditEvent, type AdminHandlerOptions, type ClientInfo, type GroupView, type KeyView } from '../../src/admin/index.js'
import { T0, testClock, type TestClock } from '../_support/clock.js'

/** An RFC 9457 problem document as the admin API sends it. */
export interface ProblemBody {
  type: string
  title: string
  status: number
  detail: string
  code: string
  field?: string
}
export interface Issued {
  key: string
  record: KeyView
}
export interface List<T> {
  items: T[]
}
export type { GroupView, KeyView }

export interface Reply {
  status: number
  headers: Headers
  text: string
  /** The parsed JSON body, as `T` (the test states what it expects; a wrong guess fails its assertions). */
  json<T = ProblemBody>(): T
}

export interface CallOptions {
  /** Raw body: sent as is (no JSON encoding). */
  raw?: BodyInit
  contentType?: string | null
  headers?: Record<string, string>
  client?: ClientInfo | null
}

export interface Fixture {
  store: MemoryKeyStore
  manager: KeyManager
  handler: ReturnType<typeof createAdminHandler>
  audit: AdminAuditEvent[]
  errors: unknown[]
  clock: TestClock
  /** Plaintext of the acme org admin key. */
  acme: string
  acmeId: string
  globex: string
  globexId: string
  authorizer: ReturnType<typeof createAuthorizer>
  call(key: string | null, method: string, path: string, body?: unknown, opts?: CallOptions): Promise<Reply>
  /** Whether `key` is allowed by the authorizer for `need` (as an API route would ask). */
  allowed(key: string, need?: string): Promise<boolean>
}

export interface FixtureOptions {
  roles?: Roles
  authorizer?: Partial<AuthorizerOptions>
  handler?: Partial<AdminHandlerOptions>
}

export { T0 }

export async function fixture(options: FixtureOptions = {}): Promise<Fixture> {
  const clock = testClock()
  const now = clock.now
  const store = new MemoryKeyStore()
  const manager = new KeyManager(store, { now, ...(options.roles ? { roles: options.roles } : {}) })
  const authorizer = createAuthorizer({ store, now, touchIntervalMs: 0, ...(options.roles ? { roles: options.roles } : {}), ...options.authorizer })
  const audit: AdminAuditEvent[] = []
  const errors: unknown[] = []
  const handler = createAdminHandler({
    manager,
    authorizer,
    now,
    onAudit: (e) => audit.push(e),
    onError: (e) => errors.push(e),
    ...options.handler,
  })
  const acme = await manager.issue({ kind: 'org', tenant: 'acme', description: 'acme admin' })
  const globex = await manager.issue({ kind: 'org', tenant: 'globex', description: 'globex admin' })

  async function call(key: string | null, method: string, path: string, body?: unknown, opts: CallOptions = {}): Promise<Reply> {
    const headers = new Headers(opts.headers)
    if (key !== null) headers.set('x-api-key', key)
    let payload: BodyInit | undefined
    if (opts.raw !== undefined) payload = opts.raw
    else if (body !== undefined) payload = JSON.stringify(body)
    if (payload !== undefined && opts.contentType !== null) headers.set('content-type', opts.contentType ?? 'application/json')
    const init: RequestInit & { duplex?: 'half' } = { method, headers }
    if (payload !== undefined) {
      init.body = payload
      if (payload instanceof ReadableStream) init.duplex = 'half'
    }
    const request = new Request(`http://127.0.0.1${path.startsWith('/') ? '' : '/'}${path}`, init)
    const client = opts.client === null ? undefined : (opts.client ?? { remoteAddress: '127.0.0.1', secure: false })
    const res = await handler(request, client)
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = text === '' ? undefined : JSON.parse(text)
    } catch {
      parsed = undefined
    }
    return { status: res.status, headers: res.headers, text, json: <T>() => parsed as T }
  }

  async function allowed(key: string, need = 'scans:read'): Promise<boolean> {
    const d = await authorizer.authorize({ method: 'GET', url: '/api/scans', headers: { 'x-api-key': key }, remoteAddress: '127.0.0.1' }, need)
    return d.allow
  }

  return {
    store, manager, handler, audit, errors, clock, authorizer, call, allowed,
    acme: acme.key, acmeId: acme.record.id, globex: globex.key, globexId: globex.record.id,
  }
}

/** A snapshot of a stored key, to prove a refused call changed nothing. */
export async function snapshot(f: Fixture, id: string): Promise<KeyRecord | undefined> {
  const r = await f.store.getKey(id)
  return r === undefined ? undefined : { ...r }
}
