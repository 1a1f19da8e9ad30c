/**
 * Content negotiation of deny bodies: RFC 9457 `application/problem+xml` (Appendix B) when the
 * client's Accept prefers XML (RFC 9110 §12.5.1, q-values), JSON otherwise.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { prefersXml, problemXml, xmlText } from '../../src/_problem-xml.js'
import { renderDeny, type DenyDecision } from '../../src/index.js'
import { harness } from '../_support/core.js'

async function unknownKeyDeny(): Promise<DenyDecision> {
  const h = harness()
  const d = await h.authorizer()({ headers: { 'x-api-key': 'kw_live_0000000000000000000000000000000000000' } })
  if (d.allow) throw new Error('expected a deny')
  return d
}

describe('which format a client prefers', () => {
  it.each([
    ['application/xml', true],
    ['text/xml', true],
    ['application/problem+xml', true],
    ['APPLICATION/XML', true],
    ['application/xml; charset=utf-8', true],
    ['application/xml, */*', true],
    ['application/xml, application/*;q=0.9', true],
    ['application/json;q=0.5, application/xml', true],
    ['application/xml;q=1.000, application/json;q=0.999', true],
    ['\tapplication/xml ; q=0.8 , text/html', true],
    ['application/problem+xml, application/json', true],
    [undefined, false],
    ['', false],
    ['*/*', false],
    ['application/json', false],
    ['application/problem+json', false],
    ['application/json, application/xml', false],
    ['application/xml;q=0.5, application/json', false],
    ['application/xml;q=0.5, */*', false],
    ['application/xml;q=0', false],
    ['application/xml;q=0, */*', false],
    ['application/xml;q=2', false],
    ['application/xml;q=0.5000', false],
    ['application/xml;q=abc', false],
    ['text/html', false],
    ['application/xhtml+xml', false],
    [';;;,,,', false],
  ] as const)('%j prefers XML: %s', (accept, xml) => {
    expect(prefersXml(accept)).toBe(xml)
  })

  it('never throws on any Accept value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        expect(typeof prefersXml(s)).toBe('boolean')
      }),
    )
  })
})

describe('renderDeny with an Accept header', () => {
  it('renders the RFC 9457 Appendix B document when the client prefers XML, with the JSON members', async () => {
    const d = await unknownKeyDeny()
    const json = renderDeny(d)
    const xml = renderDeny(d, { accept: 'application/xml' })
    expect(xml.status).toBe(401)
    expect(xml.headers).toEqual({ ...json.headers, 'content-type': 'application/problem+xml' })
    const m = JSON.parse(json.body) as Record<string, string | number>
    expect(xml.body).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<problem xmlns="urn:ietf:rfc:7807">' +
        `<type>${m.type}</type><title>${m.title}</title><status>${m.status}</status><detail>${m.detail}</detail><code>${m.code}</code></problem>`,
    )
  })

  it('keeps JSON as the default, for every Accept that does not prefer XML', async () => {
    const d = await unknownKeyDeny()
    for (const accept of [undefined, null, '', '*/*', 'application/json', 'text/html', 'application/xml;q=0.1, */*']) {
      expect(renderDeny(d, { accept })).toEqual(renderDeny(d))
    }
    expect(renderDeny(d, {})).toEqual(renderDeny(d))
  })

  it('reads repeated Accept fields given as an array', async () => {
    const d = await unknownKeyDeny()
    expect(renderDeny(d, { accept: ['text/html;q=0.1', 'application/xml'] }).headers['content-type']).toBe('application/problem+xml')
  })

  it('escapes what the message holds (the permission a route names)', async () => {
    const h = harness()
    const { key } = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const d = await h.authorizer()({ headers: { 'x-api-key': key } }, 'scans:manage')
    if (d.allow) throw new Error('expected a deny')
    const xml = renderDeny(d, { accept: 'application/xml' }).body
    expect(xml).toContain('<detail>The API key lacks the permission &quot;scans:manage&quot;.</detail>')
  })

  it('refuses options it does not know and an Accept of the wrong type', async () => {
    const d = await unknownKeyDeny()
    expect(() => renderDeny(d, { Accept: 'application/xml' } as never)).toThrow(/unknown field "Accept" \(did you mean "accept"\?\)/)
    expect(() => renderDeny(d, { accept: 1 } as never)).toThrow(TypeError)
    expect(() => renderDeny(d, 'application/xml' as never)).toThrow(TypeError)
  })
})

describe('XML text', () => {
  const unescape = (s: string) => s.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e]!)

  it('escapes markup and replaces what XML 1.0 cannot carry, for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        const t = xmlText(s)
        expect(t).not.toMatch(/[<>"']/)
        expect(t).not.toMatch(/&(?!(amp|lt|gt|quot|apos);)/)
        // XML 1.0 Char production: TAB, LF, CR, U+0020–U+D7FF, U+E000–U+FFFD, paired surrogates.
        expect(t).toMatch(/^(?:[\t\n\r\u0020-\ud7ff\ue000-\ufffd]|[\ud800-\udbff][\udc00-\udfff])*$/)
        const kept = s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
        expect(unescape(t)).toBe(kept)
      }),
    )
  })

  it('builds one element per member, in order', () => {
    expect(problemXml([['a', '<&>'], ['b', 2]])).toBe('<?xml version="1.0" encoding="UTF-8"?>\n<problem xmlns="urn:ietf:rfc:7807"><a>&lt;&amp;&gt;</a><b>2</b></problem>')
  })
})
