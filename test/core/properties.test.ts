/**
 * Property tests: no header value can make authorize() throw, or allow without a stored key.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { schemes } from '../../src/index.js'
import { harness } from '../_support/core.js'

const ALL = () => [schemes.apiKeyHeader(), schemes.ssapi(), schemes.restApiKey(), schemes.contrast(), schemes.bearer(), schemes.basic()]
const NAMES = ['x-api-key', 'X-Api-Key', 'x-ssapi-key', 'authorization', 'Authorization', 'api-key', 'x-forwarded-for', 'x-forwarded-proto', 'cookie', '__proto__', 'constructor']

// Values built from pieces that matter to the grammars, plus arbitrary strings.
const piece = fc.oneof(
  fc.constantFrom('Bearer', 'Basic', 'rest_api_key', '=', ' ', '\t', ',', ';', '"', ':', 'kw_', '\u0000', '\u00a0', '\r\n', 'unknown', '10.0.0.1', '::ffff:'),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 10 }),
  fc.base64String({ maxLength: 24 }),
)
const value = fc.array(piece, { maxLength: 8 }).map((p) => p.join(''))
const headerValue = fc.oneof(value, fc.array(value, { minLength: 1, maxLength: 3 }))
const headers = fc.dictionary(fc.constantFrom(...NAMES), headerValue, { maxKeys: 5 })

describe('authorize() under arbitrary headers', () => {
  it('never throws and never allows without a stored key (property)', async () => {
    const h = harness() // empty store: nothing can be allowed
    const auth = h.authorizer({ schemes: ALL(), trustProxy: ['10.0.0.0/8'] })
    await fc.assert(
      fc.asyncProperty(headers, fc.option(fc.string(), { nil: undefined }), async (hs, remote) => {
        const d = await auth({ headers: hs, remoteAddress: remote })
        expect(d.allow).toBe(false)
        expect([400, 401]).toContain(d.status)
      }),
      { seed: 20261123, numRuns: 3000 },
    )
  })

  it('never allows a mutated form of a real key (property)', async () => {
    const h = harness()
    const { key } = await h.issue({ kind: 'org' })
    const auth = h.authorizer({ schemes: ALL() })
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: key.length - 1 }), fc.string({ minLength: 0, maxLength: 3 }), fc.constantFrom(...NAMES.slice(0, 3)), async (i, insert, name) => {
        const mutated = key.slice(0, i) + insert + key.slice(i + 1)
        fc.pre(mutated.trim() !== key)
        const d = await auth({ headers: { [name]: mutated } })
        expect(d.allow).toBe(false)
      }),
      { seed: 11, numRuns: 1500 },
    )
  })

  it('still allows the real key after any number of unrelated headers (property)', async () => {
    const h = harness()
    const { key } = await h.issue({ kind: 'org' })
    const auth = h.authorizer()
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.stringMatching(/^x-[a-z]{1,8}$/), value, { maxKeys: 6 }), async (extra) => {
        fc.pre(!Object.keys(extra).some((k) => k.toLowerCase() === 'x-api-key'))
        expect((await auth({ headers: { ...extra, 'x-api-key': key } })).allow).toBe(true)
      }),
      { seed: 12, numRuns: 500 },
    )
  })

  it('treats a non-object headers value as no credentials', async () => {
    const h = harness()
    const auth = h.authorizer()
    for (const bad of [null, undefined, 'x-api-key: k', 42]) {
      const d = await auth({ headers: bad as never })
      expect([d.allow, d.status]).toEqual([false, 401])
    }
  })
})
