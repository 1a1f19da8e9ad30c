/**
 * What `schemes.jwt` reads: RFC 6750 §2.1 `Authorization: Bearer <jwt>`, and how it shares the
 * header with `schemes.bearer` (JWTs to jwt, opaque keys to bearer, never a conflict).
 */
import { describe, expect, it } from 'vitest'
import { schemes } from '../../src/schemes/index.js'
import { KeyManager } from '../../src/stores/manager.js'
import { MemoryKeyStore } from '../../src/stores/memory.js'
import { asDeny, claims, expectMalformed, harness, hs256, AUD, ISS, SECRET } from './_helpers.js'

const jwtScheme = () => schemes.jwt({ key: SECRET, algorithms: ['HS256'], issuer: ISS, audience: AUD })
const good = hs256(claims())

async function withKey() {
  const store = new MemoryKeyStore()
  const { key, record } = await new KeyManager(store).issue({ kind: 'user', owner: 'bo', role: 'Read Only' })
  return { store, key, record }
}

describe('RFC 6750 grammar: what is 400 invalid_request', () => {
  const malformed: [string, string | string[]][] = [
    ['Bearer with no token', 'Bearer'],
    ['Bearer and spaces only', 'Bearer   '],
    ['two tokens', `Bearer ${good} ${good}`],
    ['a token with a comma', `Bearer ${good},x`],
    ['a quoted token', `Bearer "${good}"`],
    ['a control character', `Bearer ${good}\u0001`],
    ['a non-ASCII character', `Bearer ${good}é`],
    ['a repeated Authorization field', [`Bearer ${good}`, `Bearer ${good}`]],
    ['Bearer beside another Authorization', [`Bearer ${good}`, 'Basic YTpi']],
    ['a JWT-shaped token over 8192 characters', `Bearer ${'a'.repeat(8000)}.${'b'.repeat(100)}.${'c'.repeat(100)}`],
    ['an auth-param instead of a token', 'Bearer token="abc"'],
  ]

  it.each(malformed)('jwt alone: %s', async (_, header) => {
    expectMalformed(await harness([jwtScheme()]).authorize(header))
  })

  it.each(malformed)('jwt and bearer: %s', async (_, header) => {
    expectMalformed(await harness([schemes.bearer(), jwtScheme()]).authorize(header))
  })
})

describe('what jwt accepts', () => {
  const h = harness([jwtScheme()])

  it.each([
    ['lower-case scheme word', `bearer ${good}`],
    ['upper-case scheme word', `BEARER ${good}`],
    ['surrounding SP and HTAB', ` \tBearer\t${good} \t`],
    ['several spaces after the word', `Bearer    ${good}`],
  ])('%s', async (_, header) => {
    const d = await h.authorize(header)
    expect(d.allow).toBe(true)
  })

  it('reads a Fetch Headers object', async () => {
    const d = await h.authorize(undefined, undefined, { headers: new Headers({ Authorization: `Bearer ${good}` }) })
    expect(d.allow && d.principal.scheme).toBe('jwt')
  })

  it('accepts a long JWT up to 8192 characters (longer than any key)', async () => {
    const padded = hs256(claims({ pad: 'x'.repeat(4000) }))
    expect(padded.length).toBeGreaterThan(512)
    expect(padded.length).toBeLessThanOrEqual(8192)
    expect((await h.authorize(`Bearer ${padded}`)).allow).toBe(true)
    const both = harness([schemes.bearer(), jwtScheme()])
    expect((await both.authorize(`Bearer ${padded}`)).allow).toBe(true)
  })

  it('never reads a token from the query string (RFC 6750 §2.3 is not supported)', async () => {
    const d = asDeny(await h.authorize(undefined, undefined, { url: `/scans?access_token=${good}` }))
    expect(d.reason).toBe('missing_credentials')
  })

  it('leaves other Authorization schemes alone (401 missing_credentials)', async () => {
    for (const header of ['Basic YTpi', 'rest_api_key=abc']) {
      const d = asDeny(await h.authorize(header))
      expect({ status: d.status, reason: d.reason }).toEqual({ status: 401, reason: 'missing_credentials' })
      expect(d.headers['www-authenticate']).toBe('Bearer realm="api"')
    }
  })

  it.each(['Bearer kw_live_abcdef', 'Bearer a.b', 'Bearer a.b.c.d.e', 'Bearer .b.c', 'Bearer a..c', 'Bearer abc==', 'Bearer a.b.c='])(
    'refuses a grammatical bearer token that is not a JWT, %j, as invalid_token (RFC 6750 §3.1)',
    async (header) => {
      const d = asDeny(await h.authorize(header))
      expect({ status: d.status, code: d.code, reason: d.reason }).toEqual({ status: 401, code: 'invalid_credentials', reason: 'invalid_token' })
      expect(d.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"')
      expect(h.events.at(-1)?.scheme).toBe('jwt')
    },
  )

  it('refuses a non-JWT bearer token with invalid_token beside an X-Api-Key scheme too, and a key plus such a token is two credentials', async () => {
    const { store, key } = await withKey()
    const both = harness([schemes.apiKeyHeader(), jwtScheme()], { store })
    const d = asDeny(await both.authorize('Bearer not-a-jwt'))
    expect([d.status, d.reason]).toEqual([401, 'invalid_token'])
    const two = asDeny(await both.authorize(undefined, undefined, { headers: { authorization: 'Bearer not-a-jwt', 'x-api-key': key } }))
    expect([two.status, two.reason]).toEqual([400, 'conflicting_credentials'])
  })
})

describe('jwt and bearer configured together', () => {
  it.each([
    ['bearer first', true],
    ['jwt first', false],
  ])('%s: JWTs go to jwt, opaque keys to bearer, with no conflict', async (_, bearerFirst) => {
    const { store, key, record } = await withKey()
    const list = bearerFirst ? [schemes.bearer(), jwtScheme()] : [jwtScheme(), schemes.bearer()]
    const h = harness(list, { store })
    const a = await h.authorize(`Bearer ${key}`, 'scans:read')
    expect(a.allow && [a.principal.scheme, a.principal.keyId]).toEqual(['bearer', record.id])
    const b = await h.authorize(`Bearer ${good}`, 'scans:manage')
    expect(b.allow && [b.principal.scheme, b.principal.keyId]).toEqual(['jwt', 'ana'])
  })

  it('a bad JWT stays a bad JWT: 401 invalid_token, not an unknown key', async () => {
    const { store } = await withKey()
    const h = harness([schemes.bearer(), jwtScheme()], { store })
    const token = hs256(claims(), undefined, new Uint8Array(32))
    const d = asDeny(await h.authorize(`Bearer ${token}`))
    expect([d.status, d.reason]).toEqual([401, 'invalid_token'])
    expect(h.events.at(-1)?.scheme).toBe('jwt')
  })

  it('a wrong opaque key stays an unknown key', async () => {
    const { store } = await withKey()
    const h = harness([schemes.bearer(), jwtScheme()], { store })
    const d = asDeny(await h.authorize('Bearer kw_live_0000000000000000000000000000000000000'))
    expect(d.status).toBe(401)
    expect(d.reason === 'unknown_key' || d.reason === 'bad_checksum').toBe(true)
    expect(h.events.at(-1)?.scheme).toBe('bearer')
  })

  it('a JWT plus an X-Api-Key is two credentials: 400 conflicting_credentials', async () => {
    const { store, key } = await withKey()
    const h = harness([schemes.apiKeyHeader(), schemes.bearer(), jwtScheme()], { store })
    const d = asDeny(await h.authorize(undefined, undefined, { headers: { authorization: `Bearer ${good}`, 'x-api-key': key } }))
    expect([d.status, d.reason]).toEqual([400, 'conflicting_credentials'])
  })
})

describe('one challenge for the two Bearer schemes', () => {
  it('answers bearer and jwt configured together with a single Bearer challenge', async () => {
    for (const list of [[jwtScheme(), schemes.bearer()], [schemes.bearer(), jwtScheme()]]) {
      const d = asDeny(await harness(list).authorize(undefined))
      expect(d.headers['www-authenticate']).toBe('Bearer realm="api"')
    }
  })
})
