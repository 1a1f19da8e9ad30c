/**
 * What the console holds between renders: the groups, the current page of keys, the search,
 * the sort, the cursors of the pages before, and the key whose page is open.
 * @module
 */

export interface Key {
  id: string
  kind: string
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
  description?: string
  createdAt: number
  lastUsedAt?: number
  previousExpiresAt?: number
  start?: string
  leaked?: true
  credits?: { remaining: number; refill?: { amount: number; interval: string | number }; nextRefillAt?: number }
}

export interface Group {
  id: string
  name: string
  description?: string
  active: boolean
  allowedIps?: string[]
  createdAt: number
}

export interface Page<T> {
  items: T[]
  nextCursor?: string
}

export const state = {
  groups: [] as Group[],
  keys: [] as Key[],
  /** The search as query parameters (without sort, limit, cursor). */
  search: new URLSearchParams(),
  sort: 'createdAt',
  limit: 25,
  /** Cursor of the page shown (`''`: the first). */
  cursor: '',
  /** Cursors of the pages before the one shown, for "Previous". */
  back: [] as string[],
  next: undefined as string | undefined,
  detailId: null as string | null,
}

export function groupName(id: string): string {
  for (const g of state.groups) if (g.id === id) return g.name
  return id
}

/** How a key is named to a person: its start (`kw_live_3kTM…`) when kept, else its id. */
export function keyLabel(k: Key): string {
  return k.start ? `${k.start}…` : k.id
}

export function replaceKey(record: Key): void {
  const i = state.keys.findIndex((k) => k.id === record.id)
  if (i === -1) state.keys.unshift(record)
  else state.keys[i] = { ...record, ...(state.keys[i]!.leaked ? { leaked: true as const } : {}) }
}
export function replaceGroup(group: Group): void {
  const i = state.groups.findIndex((g) => g.id === group.id)
  if (i === -1) state.groups.push(group)
  else state.groups[i] = group
}
export function currentKey(): Key | undefined {
  return state.keys.find((k) => k.id === state.detailId)
}
