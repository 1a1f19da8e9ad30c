/**
 * What the admin API shows of keys and groups. Whitelists, not blacklists: a field added to
 * `KeyRecord` later (by a store, or by a future version) stays hidden until it is listed here,
 * so `hash`, `previousHash` and anything else secret can never slip into a response.
 * @module
 */
import { creditsAt } from '../lib/credits.js'
import type { CreditRefill, KeyGroup, KeyRecord } from '../types.js'

/**
 * A usage-limited key's credits as the admin API shows them: the balance now (any refill due
 * applied), the refill, and when the next one is due. Absent for unlimited keys.
 */
export interface CreditsView {
  remaining: number
  refill?: CreditRefill
  nextRefillAt?: number
}

/** A key as the admin API shows it: every record field except `hash` and `previousHash`. */
export interface KeyView {
  id: string
  kind: KeyRecord['kind']
  tenant?: string
  group?: string
  owner?: string
  role?: string
  scopes?: string[]
  grants?: string[]
  allowedIps?: string[]
  active: boolean
  expiresAt?: number
  rateLimit?: { capacity: number; refillPerSecond: number }
  credits?: CreditsView
  description?: string
  metadata?: Record<string, unknown>
  createdAt: number
  updatedAt?: number
  lastUsedAt?: number
  /** End of the rotation grace period of the replaced key (after `rotate`). */
  previousExpiresAt?: number
  /** The short, non-secret start of the current key, e.g. `kw_live_3kTM`. */
  start?: string
}

/** A group as the admin API shows it. */
export interface GroupView {
  id: string
  name: string
  description?: string
  tenant?: string
  active: boolean
  allowedIps?: string[]
  createdAt: number
  updatedAt?: number
}

const KEY_FIELDS = [
  'id', 'kind', 'tenant', 'group', 'owner', 'role', 'scopes', 'grants', 'allowedIps', 'active', 'expiresAt', 'rateLimit', 'credits',
  'description', 'metadata', 'createdAt', 'updatedAt', 'lastUsedAt', 'previousExpiresAt', 'start',
] as const satisfies readonly (keyof KeyView & keyof KeyRecord)[]

const GROUP_FIELDS = [
  'id', 'name', 'description', 'tenant', 'active', 'allowedIps', 'createdAt', 'updatedAt',
] as const satisfies readonly (keyof GroupView & keyof KeyGroup)[]

/** The exported field lists, for the OpenAPI sync test. */
export const KEY_VIEW_FIELDS: readonly string[] = KEY_FIELDS
export const GROUP_VIEW_FIELDS: readonly string[] = GROUP_FIELDS

function pick(source: object, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const f of fields) {
    const v = Object.hasOwn(source, f) ? (source as Record<string, unknown>)[f] : undefined
    if (v !== undefined) out[f] = v
  }
  return out
}

/** `credits` as shown: never the stored version or refill anchor, only what an operator reads. */
function creditsView(c: NonNullable<KeyRecord['credits']>, now: number): CreditsView {
  const at = creditsAt(c, now)
  const view: CreditsView = { remaining: at.remaining }
  if (c.refill !== undefined) view.refill = { amount: c.refill.amount, interval: c.refill.interval }
  if (at.nextRefillAt !== undefined) view.nextRefillAt = at.nextRefillAt
  return view
}

/** The public view of a key record (its credits as they stand now). */
export function keyView(record: KeyRecord): KeyView {
  const view = pick(record, KEY_FIELDS) as unknown as KeyView
  if (record.credits !== undefined) view.credits = creditsView(record.credits, Date.now())
  return view
}

/** The public view of a group. */
export function groupView(group: KeyGroup): GroupView {
  return pick(group, GROUP_FIELDS) as unknown as GroupView
}
