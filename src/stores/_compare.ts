/**
 * Content comparison of records, for the compare-and-swap of stores that hold JavaScript
 * values, and for a store that is handed an `expected` record it did not read itself.
 * @module
 */

/** JSON with sorted keys, so two records compare by content whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`
  }
  return JSON.stringify(v) ?? 'null'
}

/** A record without what changes behind every writer's back: `lastUsedAt`, and the live credit balance. */
function edited(r: object): Record<string, unknown> {
  const { lastUsedAt: _l, ...rest } = r as Record<string, unknown>
  const c = rest.credits
  if (c !== null && typeof c === 'object' && !Array.isArray(c)) {
    const { remaining: _r, refilledAt: _t, ...spec } = c as Record<string, unknown>
    rest.credits = spec
  }
  return rest
}

/**
 * Equal in every field but `lastUsedAt`, which `touch` changes behind every writer's back, and
 * the credit balance (`credits.remaining`, `credits.refilledAt`), which every allowed request of a
 * usage-limited key changes; an edit of the credits changes `credits.version`, which is compared.
 */
export function sameAs<T extends object>(stored: T, expected: T): boolean {
  if (stored === expected) return true
  return canonical(edited(stored)) === canonical(edited(expected))
}
