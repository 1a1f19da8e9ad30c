/**
 * Which credential a request carries, across every configured scheme: nothing, something
 * malformed, two credentials (a conflict), or exactly one.
 * @module
 */
import type { HeaderValues } from '../lib/headers.js'
import type { Extraction, Scheme } from '../schemes/scheme.js'

/** Where the extraction step puts the one credential it found. */
export interface ExtractionSink {
  scheme: Scheme | undefined
  found: Extraction | undefined
}

/** Why no single credential was found. */
export type ExtractionDeny = 'missing_credentials' | 'malformed_credentials' | 'conflicting_credentials'

// Half a credential ranks lowest: it never hides a malformed reading of the same header. A
// token not in its scheme's format (a Bearer token that is no JWT) yields to every other reading.
const RANK = { partial: 0, malformed: 1, key: 2, pair: 3, token: 4 } as const
// Stryker disable next-line ConditionalExpression: equivalent, only a token carries `unshaped`, so the type test never decides
const rank = (e: Extraction): number => (e.type === 'token' && e.unshaped === true ? 0.5 : RANK[e.type])

function subset(a: readonly string[], b: readonly string[]): boolean {
  return a.every((x) => b.includes(x))
}

/** One scheme's reading; a scheme that throws has read something malformed. */
function read(s: Scheme, values: HeaderValues): Extraction | undefined {
  try {
    return s.extract(values)
  } catch {
    return { type: 'malformed', sources: s.headers }
  }
}

/**
 * The extraction step of an authorizer configured with `schemes`. Returns the deny reason, or
 * `undefined` with `sink.scheme` and `sink.found` set. `sink.scheme` is also set on a malformed
 * reading (its challenge is then the one answered).
 */
export function extractor(schemes: readonly Scheme[]): (values: HeaderValues, sink: ExtractionSink) => ExtractionDeny | undefined {
  // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: equivalent, a fast path; the general path below answers the same for one scheme
  if (schemes.length === 1) {
    // One scheme (the common case): nothing to rank or filter, nothing to allocate.
    const s = schemes[0]!
    return (values, sink) => {
      const x = read(s, values)
      if (x === undefined || x.type === 'partial') return 'missing_credentials'
      sink.scheme = s
      // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent, decide() also denies a malformed reading as malformed_credentials; this saves the work
      if (x.type === 'malformed') return 'malformed_credentials'
      sink.found = x
      return undefined
    }
  }
  return (values, sink) => {
    let found: [Scheme, Extraction][] = []
    for (const s of schemes) {
      const e = read(s, values)
      if (e !== undefined) found.push([s, e])
    }
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, filtering a single reading keeps it
    if (found.length > 1) {
      // One header can look like several schemes' (Contrast's Authorization is also Basic; a JWT
      // is also a bearer token). The most specific reading of the same headers wins: a reading
      // of more headers beats one of fewer, a verified token beats an opaque key, anything beats
      // half a credential. What is left after that is really two credentials: a conflict.
      found = found.filter(([, e]) =>
        // (A reading never drops itself: it has neither more sources nor a higher rank than itself.)
        !found.some(([, f]) => subset(e.sources, f.sources) && (f.sources.length > e.sources.length || rank(f) > rank(e))),
      )
    }
    const bad = found.find(([, e]) => e.type === 'malformed')
    if (bad) {
      sink.scheme = bad[0]
      return 'malformed_credentials'
    }
    const first = found.find(([, e]) => e.type !== 'partial')
    if (first === undefined) return 'missing_credentials'
    if (found.length > 1) return 'conflicting_credentials'
    sink.scheme = first[0]
    sink.found = first[1]
    return undefined
  }
}
