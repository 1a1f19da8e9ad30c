/**
 * The audit trail: where admin and leak-report events are kept, so the console can show who did
 * what to which key, when, and from where. Append-only: a store offers `append` and reads,
 * never an edit or a delete of an entry.
 * @module
 */
import { fieldsOf, knownFields } from '../lib/options.js'
import { rangeError, typeError } from '../errors.js'
import type { AdminAuditEvent } from './handler.js'

/** One entry of the audit trail: an admin call or a leak report, as it was recorded. */
export interface AuditEntry extends AdminAuditEvent {
  /** Position in the trail, assigned by the store; later entries have larger ones. */
  readonly seq: number
  /** For a leak report: where the key was found. */
  readonly url?: string
  /** For a leak report: the scanner's `source`. */
  readonly source?: string
  /** For a leak report: what was done to the key. */
  readonly leakAction?: string
}

/** What {@link AuditStore.list} is asked for. */
export interface AuditQuery {
  /** Only entries of this tenant (`undefined`: entries without a tenant). Always applied. */
  readonly tenant: string | undefined
  /** Only entries whose `target` is this key or group id. */
  readonly target?: string
  /** Page size, 1-200. */
  readonly limit: number
  /** Only entries before this position (`seq`), newest first. */
  readonly beforeSeq?: number
}

/**
 * Where the audit trail is kept. `MemoryAuditStore` keeps it in the process; `keyward/postgres`'s
 * `PostgresAuditStore` in a table several instances share. Every method may reject: the admin
 * API then answers 503 for reads, and reports a failed append to `onError` without changing the
 * answer of the call it records.
 */
export interface AuditStore {
  /** Appends one event. Entries are never edited nor removed through this interface. */
  append(event: AdminAuditEvent): Promise<void>
  /** Entries matching `query`, newest first. */
  list(query: AuditQuery): Promise<AuditEntry[]>
  /** Which of `keyIds` (of `tenant`) have a leak report (`action: 'reportLeak'`) in the trail. */
  leaked(tenant: string | undefined, keyIds: readonly string[]): Promise<Set<string>>
}

const STRING_FIELDS = ['action', 'outcome', 'actor', 'actorKind', 'tenant', 'target', 'code', 'url', 'source', 'leakAction'] as const

/**
 * The fields of an event a trail keeps (a whitelist: a field added to an event type later is
 * dropped until listed here), each a string of at most 2048 characters or the two numbers.
 * `undefined` for something that is not an audit event.
 */
export function auditFields(event: unknown): Omit<AuditEntry, 'seq'> | undefined {
  if (event === null || typeof event !== 'object') return undefined
  const e = event as Record<string, unknown>
  if (typeof e.at !== 'number' || !Number.isFinite(e.at) || typeof e.status !== 'number' || typeof e.action !== 'string') return undefined
  const out: Record<string, unknown> = { at: e.at, status: e.status }
  for (const f of STRING_FIELDS) {
    const v = Object.hasOwn(e, f) ? e[f] : undefined
    if (typeof v === 'string') out[f] = v.length > 2048 ? v.slice(0, 2048) : v
  }
  return out as unknown as Omit<AuditEntry, 'seq'>
}

/** Options of {@link MemoryAuditStore}. */
export interface MemoryAuditStoreOptions {
  /**
   * Most entries kept; the oldest are dropped beyond it, so memory stays bounded (about 300
   * bytes an entry). Use `PostgresAuditStore` to keep a complete trail.
   * @default 100000
   * @example 10000
   */
  maxEntries?: number
}

const MEMORY_FIELDS = fieldsOf<MemoryAuditStoreOptions>({ maxEntries: true })

/**
 * The audit trail in this process's memory: for one instance, tests and demos. Bounded by
 * `maxEntries` (the oldest entries go first); lost on restart.
 *
 * @example
 * ```ts
 * import { createAdminHandler, MemoryAuditStore } from 'keyward/admin'
 * const audit = new MemoryAuditStore()
 * const admin = createAdminHandler({ manager, authorizer, auditStore: audit })
 * ```
 */
export class MemoryAuditStore implements AuditStore {
  readonly #entries: AuditEntry[] = []
  readonly #max: number
  #seq = 0

  constructor(options: MemoryAuditStoreOptions = {}) {
    if (options === null || typeof options !== 'object') throw typeError('options', 'must be an object')
    knownFields(options, MEMORY_FIELDS, 'options')
    const max = options.maxEntries ?? 100_000
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 10_000_000) throw rangeError('maxEntries', 'must be an integer from 1 to 10000000')
    this.#max = max
  }

  async append(event: AdminAuditEvent): Promise<void> {
    const fields = auditFields(event)
    if (fields === undefined) throw typeError('event', 'must be an audit event')
    this.#entries.push(Object.freeze({ ...fields, seq: ++this.#seq }))
    if (this.#entries.length > this.#max) this.#entries.splice(0, this.#entries.length - this.#max)
  }

  async list(query: AuditQuery): Promise<AuditEntry[]> {
    const out: AuditEntry[] = []
    for (let i = this.#entries.length - 1; i >= 0 && out.length < query.limit; i--) {
      const e = this.#entries[i]!
      if (query.beforeSeq !== undefined && e.seq >= query.beforeSeq) continue
      if (e.tenant !== query.tenant) continue
      if (query.target !== undefined && e.target !== query.target) continue
      out.push(e)
    }
    return out
  }

  async leaked(tenant: string | undefined, keyIds: readonly string[]): Promise<Set<string>> {
    const wanted = new Set(keyIds)
    const out = new Set<string>()
    for (const e of this.#entries) {
      if (e.action === 'reportLeak' && e.tenant === tenant && e.target !== undefined && wanted.has(e.target)) out.add(e.target)
    }
    return out
  }
}

/**
 * An `onAudit` function that appends every event to `store` (for `createLeakHandler`, or next to
 * your own sink), then calls `next`. Not awaited: a failed append goes to `onError`.
 *
 * @example
 * ```ts
 * const leaks = createLeakHandler({ manager, verify: {}, onAudit: auditTo(audit, (e) => log.info(e)) })
 * ```
 */
export function auditTo<E extends AdminAuditEvent>(store: AuditStore, next?: (event: E) => void, onError?: (error: unknown) => void): (event: E) => void {
  if (store === null || typeof store !== 'object' || typeof store.append !== 'function') throw typeError('store', 'must be an AuditStore')
  if (next !== undefined && typeof next !== 'function') throw typeError('next', 'must be a function')
  if (onError !== undefined && typeof onError !== 'function') throw typeError('onError', 'must be a function')
  const report = (e: unknown): void => {
    try {
      onError?.(e)
    } catch {
      // Reporting must never turn into a crash.
    }
  }
  return (event) => {
    try {
      store.append(event).catch(report)
    } catch (e) {
      report(e)
    }
    next?.(event)
  }
}
