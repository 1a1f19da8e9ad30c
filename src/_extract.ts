/**
 * Which credential a request carries, across every configured scheme: nothing, something
 * malformed, two credentials (a conflict), or exactly one.
 * @module
 */
import type { HeaderValues } from './_headers.js'
import type { Extraction, Scheme } from './schemes/scheme.js'

/** What every configured scheme found, after overlapping readings of the same headers are resolved. */
export interface Extracted {
  readonly found: [Scheme, Extraction][]
  /** The first scheme whose reading is malformed, if any. */
  readonly malformed?: Scheme
}

/** The extraction step of an authorizer configured with `schemes`. */
export function extractor(schemes: readonly Scheme[]): (values: HeaderValues) => Extracted {
  // Half a credential ranks lowest: it never hides a malformed reading of the same header. A
  // token not in its scheme's format (a Bearer token that is no JWT) yields to every other reading.
  const RANK = { partial: 0, malformed: 1, key: 2, pair: 3, token: 4 } as const
  const rank = (e: Extraction): number => (e.type === 'token' && e.unshaped === true ? 0.5 : RANK[e.type])
  function subset(a: readonly string[], b: readonly string[]): boolean {
    return a.every((x) => b.includes(x))
  }
  const NOTHING_FOUND: { found: [Scheme, Extraction][]; malformed?: Scheme } = Object.freeze({ found: [] })
  function extract(values: HeaderValues): { found: [Scheme, Extraction][]; malformed?: Scheme } {
    if (schemes.length === 1) {
      // One scheme (the common case): nothing to rank or filter.
      const s = schemes[0]!
      let e: Extraction | undefined
      try {
        e = s.extract(values)
      } catch {
        e = { type: 'malformed', sources: s.headers }
      }
      if (e === undefined) return NOTHING_FOUND
      return e.type === 'malformed' ? { found: [[s, e]], malformed: s } : { found: [[s, e]] }
    }
    let found: [Scheme, Extraction][] = []
    for (const s of schemes) {
      let e: Extraction | undefined
      try {
        e = s.extract(values)
      } catch {
        e = { type: 'malformed', sources: s.headers }
      }
      if (e !== undefined) found.push([s, e])
    }
    if (found.length > 1) {
      // One header can look like several schemes' (Contrast's Authorization is also Basic; a JWT
      // is also a bearer token). The most specific reading of the same headers wins: a reading
      // of more headers beats one of fewer, a verified token beats an opaque key, anything beats
      // half a credential. What is left after that is really two credentials: a conflict.
      found = found.filter(([, e]) =>
        !found.some(([, f]) => f !== e && subset(e.sources, f.sources) && (f.sources.length > e.sources.length || rank(f) > rank(e))),
      )
    }
    const bad = found.find(([, e]) => e.type === 'malformed')
    return bad ? { found, malformed: bad[0] } : { found }
  }
  return extract
}
