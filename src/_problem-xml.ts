/**
 * Content negotiation of deny bodies: `application/problem+json` by default, and
 * `application/problem+xml` (RFC 9457 Appendix B) when the client's `Accept` prefers XML.
 * Every function is total: whatever the header holds, it returns an answer and never throws.
 * @module
 */
import { trimOws } from './lib/headers.js'

/** The longest `Accept` value read; the rest is ignored (a client's preferences fit in far less). */
const MAX_ACCEPT = 4096

/**
 * How specifically a media range names each of the two bodies we can send (0: it does not name
 * it). RFC 9110 §12.5.1: the most specific range that matches a representation gives its weight.
 * `application/xml` and `text/xml` name the XML body, `application/json` the JSON one, as the
 * generic types they are kinds of (RFC 6839 §3.1, §4.1).
 */
function specificity(range: string): { json: number; xml: number } {
  switch (range) {
    case 'application/problem+json':
      return { json: 4, xml: 0 }
    case 'application/problem+xml':
      return { json: 0, xml: 4 }
    case 'application/json':
      return { json: 3, xml: 0 }
    case 'application/xml':
    case 'text/xml':
      return { json: 0, xml: 3 }
    case 'application/*':
      return { json: 2, xml: 2 }
    case '*/*':
      return { json: 1, xml: 1 }
    default:
      return { json: 0, xml: 0 }
  }
}

/** RFC 9110 §12.4.2 `qvalue`, or `undefined` when it breaks the grammar. */
function qvalue(s: string): number | undefined {
  return /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(s) ? Number(s) : undefined
}

/**
 * True when `accept` (an `Accept` field value, RFC 9110 §12.5.1) prefers XML to JSON: the XML
 * body's weight is higher, or equal, non-zero and given by a more specific range
 * (`application/xml` beside the any-type wildcard is XML). Anything else, a missing or unparsable header included, is
 * JSON. A range with a malformed `q` is skipped.
 *
 * @example prefersXml('application/xml') // true
 * @example prefersXml('application/xml;q=0.5, application/json') // false
 */
export function prefersXml(accept: string | undefined): boolean {
  if (accept === undefined || accept.length === 0) return false
  const value = accept.length > MAX_ACCEPT ? accept.slice(0, MAX_ACCEPT) : accept
  const best = { json: { s: 0, q: 0 }, xml: { s: 0, q: 0 } }
  for (const element of value.split(',')) {
    const params = element.split(';')
    const range = trimOws(params[0]!).toLowerCase()
    const spec = specificity(range)
    if (spec.json === 0 && spec.xml === 0) continue
    let q: number | undefined = 1
    for (let i = 1; i < params.length; i++) {
      const p = trimOws(params[i]!)
      const eq = p.indexOf('=')
      if (eq < 0 || trimOws(p.slice(0, eq)).toLowerCase() !== 'q') continue
      q = qvalue(trimOws(p.slice(eq + 1)))
      break
    }
    if (q === undefined) continue
    for (const k of ['json', 'xml'] as const) {
      const b = best[k]
      // The most specific matching range decides; among equally specific ones, the highest q.
      if (spec[k] > b.s || (spec[k] === b.s && spec[k] > 0 && q > b.q)) best[k] = { s: spec[k], q }
    }
  }
  const { json, xml } = best
  return xml.q > json.q || (xml.q === json.q && xml.q > 0 && xml.s > json.s)
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }

/**
 * Text content for XML 1.0: markup characters escaped, and characters XML 1.0 cannot carry
 * (controls other than TAB/LF/CR, lone surrogates, U+FFFE/U+FFFF) replaced by U+FFFD.
 */
export function xmlText(s: string): string {
  return s
    .replace(/[&<>"']/g, (c) => ESCAPES[c]!)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
}

/**
 * The RFC 9457 Appendix B document for the members of a problem: root `problem` in namespace
 * `urn:ietf:rfc:7807`, one element per member, in the order given.
 */
export function problemXml(members: ReadonlyArray<readonly [name: string, value: string | number]>): string {
  let out = '<?xml version="1.0" encoding="UTF-8"?>\n<problem xmlns="urn:ietf:rfc:7807">'
  for (const [name, value] of members) out += `<${name}>${xmlText(String(value))}</${name}>`
  return `${out}</problem>`
}
