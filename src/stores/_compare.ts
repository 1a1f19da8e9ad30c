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

/** Equal in every field but `lastUsedAt`, which `touch` changes behind every writer's back. */
export function sameAs<T extends object>(stored: T, expected: T): boolean {
  if (stored === expected) return true
  const { lastUsedAt: _a, ...a } = stored as T & { lastUsedAt?: number }
  const { lastUsedAt: _b, ...b } = expected as T & { lastUsedAt?: number }
  return canonical(a) === canonical(b)
}
