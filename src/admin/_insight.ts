/**
 * The admin API's read side for operators: paged, filtered, sorted lists of keys and groups,
 * a key's usage series and the audit trail. Every read is scoped to the caller's tenant, like
 * the rest of the API: another tenant's key answers 404 and never appears in a list or a trail.
 * @module
 */
import { rangeError } from '../errors.js'
import type { KeyManager } from '../stores/manager.js'
import type { KeyGroup, KeyRecord, Principal } from '../types.js'
import type { AuditStore } from './audit.js'
import { json, Problem } from './_http.js'
import { GROUP_LIST_QUERY, KEY_LIST_QUERY, keyMatches, keyQueryOf, limitOf, paginate, parseQuery } from './_list.js'
import { groupView, keyView } from './_serialize.js'
import { USAGE_WINDOWS, usageSeries, type UsageRecorder } from './usage.js'

/** What the insight routes need besides the manager. */
export interface InsightDeps {
  readonly usage: UsageRecorder | undefined
  readonly audit: AuditStore | undefined
  readonly now: () => number
  /** Where a failed read of these stores is reported (the handler's `onError`). */
  readonly report: (error: unknown) => void
}

/** The part of an operation context these routes read. */
interface Ctx {
  readonly principal: Principal
  readonly tenant: string | undefined
  readonly params: ReadonlyMap<string, string>
  readonly query: URLSearchParams
  target?: string
}
interface Deps {
  readonly manager: KeyManager
  readonly insight: InsightDeps
}

/** Reads the audit or usage store; its failure is a 503 the console can say in words (the error goes to `onError`). */
async function fromStore<T>(read: () => Promise<T>, report: (e: unknown) => void): Promise<T> {
  try {
    return await read()
  } catch (e) {
    report(e)
    throw new Problem(503, 'store_unavailable', 'The audit or usage store is unavailable; try again later.', { headers: { 'retry-after': '5' } })
  }
}

/** Self-service: the owner whose keys the caller may see, and which of them it may. */
export interface OwnKeys {
  readonly owner: string
  readonly visible: (k: KeyRecord) => boolean
}

/** `GET /api/keys`: one page of the caller's tenant's keys (its own, for `self`), filtered and sorted. */
export async function keyPage(ctx: Ctx, deps: Deps, self?: OwnKeys): Promise<Response> {
  const q = parseQuery(ctx.query, KEY_LIST_QUERY)
  const f = keyQueryOf(q)
  if (self !== undefined) {
    if (f.store.owner !== undefined && f.store.owner !== self.owner) return json(200, { items: [] })
    f.store.owner = self.owner
  }
  const tenant = q.get('tenant')
  // Another tenant's name filters down to nothing, exactly like a tenant that has no keys.
  if (tenant !== undefined && tenant !== ctx.tenant) return json(200, { items: [] })
  const all = await deps.manager.list({ ...f.store, ...(ctx.tenant === undefined ? {} : { tenant: ctx.tenant }) })
  // Filtered again: a tenant-less caller asked for "all", and a store might ignore the filter.
  const mine = all.filter((k) => k.tenant === ctx.tenant && (self === undefined || self.visible(k)))
  const audit = deps.insight.audit
  const leaked = audit === undefined || mine.length === 0 ? new Set<string>() : await fromStore(() => audit.leaked(ctx.tenant, mine.map((k) => k.id)), deps.insight.report)
  const now = deps.insight.now()
  const shown = mine.filter((k) => keyMatches(k, f, now, leaked))
  const { page, nextCursor } = paginate<KeyRecord>(shown, f.sort, f.limit, f.cursor)
  const items = page.map((k) => (leaked.has(k.id) ? { ...keyView(k), leaked: true } : keyView(k)))
  return json(200, { items, ...(nextCursor === undefined ? {} : { nextCursor }) })
}

/** `GET /api/groups`: one page of the caller's tenant's groups, oldest first. */
export async function groupPage(ctx: Ctx, deps: Deps): Promise<Response> {
  const q = parseQuery(ctx.query, GROUP_LIST_QUERY)
  const limit = limitOf(q)
  const groups = await deps.manager.listGroups(ctx.tenant === undefined ? {} : { tenant: ctx.tenant })
  const mine = groups.filter((g) => g.tenant === ctx.tenant)
  const { page, nextCursor } = paginate<KeyGroup>(mine, 'createdAt', limit, q.get('cursor'))
  return json(200, { items: page.map(groupView), ...(nextCursor === undefined ? {} : { nextCursor }) })
}

/**
 * `GET /api/keys/{keyId}/usage?window=24h|30d`: the key's decisions per bucket and outcome.
 * `k` is the key as the caller may see it, already read by the operation.
 */
export async function keyUsage(ctx: Ctx, deps: Deps, k: KeyRecord): Promise<Response> {
  const q = parseQuery(ctx.query, ['window'])
  const window = q.get('window') ?? '24h'
  if (!(USAGE_WINDOWS as readonly string[]).includes(window)) throw rangeError('window', `must be one of ${USAGE_WINDOWS.join(', ')}`)
  const usage = deps.insight.usage
  const w = window as (typeof USAGE_WINDOWS)[number]
  if (usage === undefined) {
    const empty = await usageSeries({ record: () => undefined, series: async () => [] }, k.id, w, deps.insight.now())
    return json(200, { ...empty, recording: false })
  }
  const series = await fromStore(() => usageSeries(usage, k.id, w, deps.insight.now()), deps.insight.report)
  return json(200, { ...series, recording: true })
}

function auditCursor(seq: number): string {
  return Buffer.from(`a:${seq}`, 'utf8').toString('base64url')
}

function seqOf(cursor: string): number {
  const bad = (): Error => rangeError('cursor', 'is not a cursor of this list; start again without it')
  if (cursor.length > 64 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad()
  const m = /^a:([0-9]{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  if (m === null) throw bad()
  return Number(m[1])
}

/** `GET /api/audit?key=&limit=&cursor=`: the tenant's audit trail, newest first. */
export async function auditPage(ctx: Ctx, deps: Deps): Promise<Response> {
  const q = parseQuery(ctx.query, ['key', 'limit', 'cursor'])
  const limit = limitOf(q)
  const key = q.get('key')
  if (key !== undefined && (key.length === 0 || key.length > 128)) throw rangeError('key', 'must be a key or group id')
  const cursor = q.get('cursor')
  const beforeSeq = cursor === undefined ? undefined : seqOf(cursor)
  const audit = deps.insight.audit
  if (audit === undefined) return json(200, { items: [], recording: false })
  const items = await fromStore(() => audit.list({
    tenant: ctx.tenant,
    limit: limit + 1,
    ...(key === undefined ? {} : { target: key }),
    ...(beforeSeq === undefined ? {} : { beforeSeq }),
  }), deps.insight.report)
  // Filtered again: a store must not widen the scope of a tenant's trail.
  const mine = items.filter((e) => e.tenant === ctx.tenant && (key === undefined || e.target === key))
  const page = mine.slice(0, limit)
  const last = page[page.length - 1]
  return json(200, { items: page, recording: true, ...(mine.length > limit && last !== undefined ? { nextCursor: auditCursor(last.seq) } : {}) })
}
