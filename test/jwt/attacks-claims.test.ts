/**
 * RFC 8725 §3.8-§3.11 and RFC 7519 §4.1 claim checks: `iss`, `aud`, `exp`, `nbf`, `crit`,
 * `typ`, signatures; and the statuses around them (403 insufficient_scope on a valid token).
 */
import { describe, expect, it } from 'vitest'
import { renderDeny } from '../../src/decision.js'
import { schemes } from '../../src/schemes/index.js'
import { asDeny, claims, compact, expectInvalidToken, harness, hmacSigner, hs256, AUD, ISS, SECRET, T0, T0_SEC } from './_helpers.js'

const scheme = () => schemes.jwt({ key: SECRET, algorithms: ['HS256'], issuer: ISS, audience: AUD })

describe('issuer and audience (RFC 8725 §3.8, §3.9)', () => {
  const h = harness([scheme()])

  it('allows the right iss and aud, with aud as a string or in an array', async () => {
    expect((await h.authorize(`Bearer ${hs256(claims())}`)).allow).toBe(true)
    expect((await h.authorize(`Bearer ${hs256(claims({ aud: ['https://other.test', AUD] }))}`)).allow).toBe(true)
  })

  it.each([
    ['a wrong iss', { iss: 'https://evil.test/' }, 'claim_iss'],
    ['an iss differing only by a trailing slash', { iss: 'https://idp.test' }, 'claim_iss'],
    ['no iss', { iss: undefined }, 'claim_iss'],
    ['a non-string iss', { iss: [ISS] }, 'claim_iss'],
    ['a wrong aud', { aud: 'https://other.test' }, 'claim_aud'],
    ['an aud array without ours', { aud: ['https://a.test', 'https://b.test'] }, 'claim_aud'],
    ['no aud', { aud: undefined }, 'claim_aud'],
    ['an empty aud array', { aud: [] }, 'claim_aud'],
  ])('refuses %s', async (_, extra, detail) => {
    const token = hs256(claims(extra))
    expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
    expect(h.events.at(-1)).toMatchObject({ reason: 'invalid_token', detail })
  })

  it('accepts any of several configured issuers and audiences', async () => {
    const multi = harness([schemes.jwt({ key: SECRET, algorithms: ['HS256'], issuer: [ISS, 'https://idp2.test/'], audience: ['a', AUD] })])
    expect((await multi.authorize(`Bearer ${hs256(claims({ iss: 'https://idp2.test/', aud: 'a' }))}`)).allow).toBe(true)
    const token = hs256(claims({ iss: 'https://idp3.test/' }))
    expectInvalidToken(await multi.authorize(`Bearer ${token}`), token)
  })

  it('checks neither only when explicitly disabled with false', async () => {
    const open = harness([schemes.jwt({ key: SECRET, algorithms: ['HS256'], issuer: false, audience: false })])
    expect((await open.authorize(`Bearer ${hs256(claims({ iss: 'anyone', aud: 'anything' }))}`)).allow).toBe(true)
  })
})

describe('expiry and not-before (RFC 7519 §4.1.4, §4.1.5; clockToleranceSec default 60)', () => {
  const h = harness([scheme()])

  it.each([
    ['no exp', { exp: undefined }, 'claim_exp'],
    ['a string exp', { exp: String(T0_SEC + 300) }, 'claim_exp'],
    ['a null exp', { exp: null }, 'claim_exp'],
    ['an exp past by more than the tolerance', { exp: T0_SEC - 61 }, 'expired'],
    ['an nbf in the future beyond the tolerance', { nbf: T0_SEC + 61 }, 'claim_nbf'],
    ['a string nbf', { nbf: String(T0_SEC - 100) }, 'claim_nbf'],
    ['a string iat', { iat: String(T0_SEC) }, 'claim_iat'],
  ])('refuses %s', async (_, extra, detail) => {
    const token = hs256(claims(extra))
    expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
    expect(h.events.at(-1)).toMatchObject({ reason: 'invalid_token', detail })
  })

  it('allows exp and nbf within the tolerance, and follows the injected clock', async () => {
    expect((await h.authorize(`Bearer ${hs256(claims({ exp: T0_SEC - 59 }))}`)).allow).toBe(true)
    expect((await h.authorize(`Bearer ${hs256(claims({ nbf: T0_SEC + 59 }))}`)).allow).toBe(true)
    const later = hs256(claims({ exp: T0_SEC + 1000, jti: 'later' }))
    h.clock.set(T0 + 1061_000)
    expectInvalidToken(await h.authorize(`Bearer ${later}`), later)
    h.clock.set(T0)
  })

  it('honours a tolerance of 0', async () => {
    const strict = harness([schemes.jwt({ key: SECRET, algorithms: ['HS256'], issuer: ISS, audience: AUD, clockToleranceSec: 0 })])
    const token = hs256(claims({ exp: T0_SEC }))
    expectInvalidToken(await strict.authorize(`Bearer ${token}`), token)
    expect((await strict.authorize(`Bearer ${hs256(claims({ exp: T0_SEC + 1 }))}`)).allow).toBe(true)
  })
})

describe('header checks: crit (RFC 7515 §4.1.11), typ (RFC 8725 §3.11)', () => {
  const h = harness([scheme()])

  it.each([
    ['an unknown crit extension', { alg: 'HS256', crit: ['x-keyward'], 'x-keyward': true }],
    ['crit naming a parameter that is absent', { alg: 'HS256', crit: ['x-missing'] }],
    ['an empty crit', { alg: 'HS256', crit: [] }],
    ['crit that is not an array', { alg: 'HS256', crit: 'x-keyward' }],
    ['b64: false (unencoded payload, RFC 7797)', { alg: 'HS256', crit: ['b64'], b64: false }],
  ])('refuses %s', async (_, header) => {
    const token = compact(header, claims(), hmacSigner(SECRET))
    expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
  })

  it('pins typ when configured, and ignores it otherwise', async () => {
    const typed = harness([schemes.jwt({ key: SECRET, algorithms: ['HS256'], issuer: ISS, audience: AUD, typ: 'keyward+jwt' })])
    const jwtTyp = hs256(claims(), { alg: 'HS256', typ: 'JWT' })
    expectInvalidToken(await typed.authorize(`Bearer ${jwtTyp}`), jwtTyp)
    expect(typed.events.at(-1)?.detail).toBe('claim_typ')
    const untyped = hs256(claims(), { alg: 'HS256' })
    expectInvalidToken(await typed.authorize(`Bearer ${untyped}`), untyped)
    expect((await typed.authorize(`Bearer ${hs256(claims(), { alg: 'HS256', typ: 'application/keyward+jwt' })}`)).allow).toBe(true)
    expect((await h.authorize(`Bearer ${jwtTyp}`)).allow).toBe(true)
  })
})

describe('signatures and structure', () => {
  const h = harness([scheme()])

  it('refuses a token whose signature, payload or header was altered', async () => {
    const good = hs256(claims())
    const [hd, pl, sg] = good.split('.') as [string, string, string]
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1)
    const promoted = Buffer.from(JSON.stringify(claims({ kw_kind: 'org' }))).toString('base64url')
    for (const token of [`${hd}.${pl}.${flip(sg)}`, `${hd}.${promoted}.${sg}`, `${flip(hd)}.${pl}.${sg}`, `${hd}.${pl}.${sg.slice(0, -2)}`]) {
      expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
    }
    expect((await h.authorize(`Bearer ${good}`)).allow).toBe(true)
  })

  it('refuses a token signed with another secret', async () => {
    const token = hs256(claims(), undefined, new Uint8Array(32).fill(7))
    expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
    expect(h.events.at(-1)?.detail).toBe('bad_signature')
  })

  it.each([
    ['a payload that is not JSON', 'not json'],
    ['a payload that is a JSON array', '[1,2,3]'],
    ['a payload that is a JSON string', '"ana"'],
  ])('refuses %s', async (_, payload) => {
    const token = compact({ alg: 'HS256' }, payload, hmacSigner(SECRET))
    expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
  })

  it('refuses a header that is not a JSON object', async () => {
    const token = compact('["HS256"]', claims(), hmacSigner(SECRET))
    expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
  })
})

describe('statuses around a valid token', () => {
  const h = harness([scheme()])

  it('is 403 insufficient_permission with error="insufficient_scope" when the role lacks the permission', async () => {
    const d = asDeny(await h.authorize(`Bearer ${hs256(claims())}`, 'targets:manage'))
    expect({ status: d.status, code: d.code }).toEqual({ status: 403, code: 'insufficient_permission' })
    expect(d.headers['www-authenticate']).toBe('Bearer realm="api", error="insufficient_scope"')
    expect(JSON.parse(renderDeny(d).body)).toMatchObject({ status: 403, code: 'insufficient_permission' })
  })

  it('is 401 missing_credentials with a bare challenge when there is no Authorization', async () => {
    const d = asDeny(await h.authorize(undefined))
    expect({ status: d.status, code: d.code }).toEqual({ status: 401, code: 'missing_credentials' })
    expect(d.headers['www-authenticate']).toBe('Bearer realm="api"')
  })

  it('shares one Bearer challenge with schemes.bearer, alongside the other schemes', async () => {
    const mixed = harness([schemes.apiKeyHeader(), schemes.bearer(), scheme()])
    const token = hs256(claims({ iss: 'https://evil.test/' }))
    const d = asDeny(await mixed.authorize(`Bearer ${token}`))
    expect(d.headers['www-authenticate']).toBe('ApiKey realm="api", header="X-Api-Key", Bearer realm="api", error="invalid_token"')
  })
})
