/**
 * Every scheme, through authorize(): where each reads the key, and the grammar each refuses.
 */
import { describe, expect, it } from 'vitest'
import { schemes, type Scheme } from '../../src/index.js'
import { quoted } from '../../src/schemes/_scheme.js'
import { basicOf, harness, seen } from '../_support/core.js'

async function withKey(list: Scheme[]) {
  const h = harness()
  const { key, id } = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
  return { h, key, id, auth: h.authorizer({ schemes: list }) }
}

describe('apiKeyHeader', () => {
  it('reads X-Api-Key case-insensitively and trims only SP and HTAB', async () => {
    const { key, auth } = await withKey([schemes.apiKeyHeader()])
    expect((await auth({ headers: { 'X-API-KEY': ` \t${key}\t ` } })).allow).toBe(true)
    expect(seen(await auth({ headers: { 'x-api-key': `\u00a0${key}` } })).reason).toBe('malformed_credentials')
    expect(seen(await auth({ headers: { 'x-api-key': `${key}\u2003` } })).reason).toBe('malformed_credentials')
  })

  it('reads a custom header and ignores X-Api-Key then', async () => {
    const { key, auth } = await withKey([schemes.apiKeyHeader({ header: 'X-Acme-Key' })])
    expect((await auth({ headers: { 'x-acme-key': key } })).allow).toBe(true)
    expect(seen(await auth({ headers: { 'x-api-key': key } })).reason).toBe('missing_credentials')
  })

  it.each([
    ['an empty value', ''],
    ['only whitespace', ' \t '],
    ['an inner space', 'kw_abc def'],
    ['a control character', 'kw_abc\u0000'],
    ['a DEL character', 'kw_abc\u007f'],
    ['a non-ASCII character', 'kw_abcé'],
    ['a value over 512 characters', 'k'.repeat(513)],
    ['two values joined by a Headers object', 'kw_a, kw_b'],
  ])('refuses %s with 400', async (_, value) => {
    const { auth } = await withKey([schemes.apiKeyHeader()])
    expect(seen(await auth({ headers: { 'x-api-key': value } }))).toEqual({ status: 400, code: 'invalid_request', reason: 'malformed_credentials' })
  })

  it('refuses a duplicated header, as an array or as two differently-cased fields', async () => {
    const { key, auth } = await withKey([schemes.apiKeyHeader()])
    expect(seen(await auth({ headers: { 'x-api-key': [key, key] } })).reason).toBe('malformed_credentials')
    expect(seen(await auth({ headers: { 'x-api-key': key, 'X-Api-Key': key } })).reason).toBe('malformed_credentials')
  })

  it('reads a Fetch Headers object, where duplicates arrive joined', async () => {
    const { key, auth } = await withKey([schemes.apiKeyHeader()])
    expect((await auth({ headers: new Headers({ 'x-api-key': key }) })).allow).toBe(true)
    const dup = new Headers()
    dup.append('x-api-key', key)
    dup.append('x-api-key', key)
    expect(seen(await auth({ headers: dup })).reason).toBe('malformed_credentials')
  })

  it("reads Node's rawHeaders list, case-insensitively, and sees a repeated field", async () => {
    const { key, auth } = await withKey([schemes.apiKeyHeader()])
    expect((await auth({ headers: ['Host', 'x', 'X-API-Key', key, 'Accept', '*/*'] })).allow).toBe(true)
    expect(seen(await auth({ headers: ['x-api-key', key, 'X-Api-Key', key] })).reason).toBe('malformed_credentials')
    expect(seen(await auth({ headers: ['x-api-key'] })).reason).toBe('missing_credentials')
  })

  it('never reads a key from the query string', async () => {
    const { key, auth } = await withKey([schemes.apiKeyHeader()])
    expect(seen(await auth({ url: `/api/scans?api_key=${key}&x-api-key=${key}`, headers: {} })).reason).toBe('missing_credentials')
  })

  it('refuses a header or a name that is not a string, naming the field', () => {
    expect(() => schemes.apiKeyHeader({ header: 42 as never })).toThrow(/^header: must be a string$/)
    expect(() => schemes.apiKeyHeader({ header: new String('X-Api-Key') as never })).toThrow(/^header: must be a string$/)
    expect(() => schemes.apiKeyHeader({ name: 42 as never })).toThrow(/^name: must be 1-32 lower-case letters, digits or dashes$/)
  })

  it.each([
    ['an upper-case letter', 'Api'],
    ['a leading dash', '-api'],
    ['a character that is no letter, digit or dash', 'api_key'],
    ['a trailing character that is no letter, digit or dash', 'api!'],
    ['33 characters', `a${'b'.repeat(32)}`],
    ['nothing', ''],
  ])('refuses a scheme name with %s', (_, name) => {
    expect(() => schemes.apiKeyHeader({ name })).toThrow(RangeError)
  })

  it.each([['one character', 'a'], ['32 characters', `a${'b'.repeat(31)}`], ['a leading digit', '9lives'], ['digits and dashes after the first', 'key-2-b']])(
    'accepts a scheme name of %s and reports it as the principal scheme',
    async (_, name) => {
      const { key, auth } = await withKey([schemes.apiKeyHeader({ name })])
      const d = await auth({ headers: { 'x-api-key': key } })
      expect(d.allow && d.principal.scheme).toBe(name)
    },
  )

  it('names its own header in its challenge, and two such schemes answer two challenges', async () => {
    const auth = harness().authorizer({ schemes: [schemes.apiKeyHeader(), schemes.apiKeyHeader({ header: 'X-Acme-Key', name: 'acme' })] })
    const d = await auth({ headers: {} })
    expect(!d.allow && d.headers['www-authenticate']).toBe('ApiKey realm="api", header="X-Api-Key", ApiKey realm="api", header="X-Acme-Key"')
  })

  it('says what is wrong with its options', () => {
    expect(() => schemes.apiKeyHeader('X-Api-Key' as never)).toThrow(/^options: must be an object/)
    expect(() => schemes.apiKeyHeader({ realm: 'x' } as never)).toThrow(/^options: unknown field "realm"/)
    expect(() => schemes.apiKeyHeader({ header: 'X Api' })).toThrow(/^header: "X Api" is not a valid header name$/)
    expect(() => schemes.apiKeyHeader({ header: 'Cookie' })).toThrow(/^header: "Cookie" cannot carry an API key; use the bearer, basic or restApiKey scheme for Authorization$/)
  })

  it('refuses header names that are not tokens or that belong to other schemes', () => {
    expect(() => schemes.apiKeyHeader({ header: 'X Api' })).toThrow(/header/)
    expect(() => schemes.apiKeyHeader({ header: 'Authorization' })).toThrow(/header/)
    expect(() => schemes.apiKeyHeader({ header: 'X-Forwarded-For' })).toThrow(RangeError)
  })
})

describe('ssapi', () => {
  it('reads X-SSAPI-KEY and reports the ssapi scheme', async () => {
    const { key, auth } = await withKey([schemes.ssapi()])
    const d = await auth({ headers: { 'X-SSAPI-KEY': key } })
    expect(d.allow && d.principal.scheme).toBe('ssapi')
    expect(seen(await auth({ headers: { 'x-api-key': key } })).reason).toBe('missing_credentials')
  })
})

describe('restApiKey', () => {
  it('reads Authorization: rest_api_key=<id> with a case-insensitive scheme name', async () => {
    const { h, auth } = await withKey([schemes.restApiKey()])
    const ref = '3f0e8a52-6a1c-4c57-9d5e-2a8c1f0b7e44'
    await h.manager.import({ key: ref, kind: 'user', owner: 'svc', role: 'Read Only' })
    for (const value of [`rest_api_key=${ref}`, `REST_API_KEY=${ref}`, ` rest_api_key = ${ref} `]) {
      const d = await auth({ headers: { authorization: value } })
      expect(d.allow && d.principal.scheme).toBe('rest-api-key')
    }
  })

  it.each([
    ['an empty value', 'rest_api_key='],
    ['a quoted value', 'rest_api_key="abc-def-123"'],
    ['a repeated value', 'rest_api_key=abc,rest_api_key=def'],
    ['a value list', 'rest_api_key=abc;def'],
    ['a missing equals sign', 'rest_api_key abc'],
    ['an inner space', 'rest_api_key=abc def'],
    ['a single-quoted value', "rest_api_key='abc-def-123'"],
    ['a second equals sign', 'rest_api_key=abc=def'],
    ['a backslash', 'rest_api_key=abc\\def'],
    ['a control character', 'rest_api_key=abc\u0001def'],
    ['a non-ASCII character', 'rest_api_key=abcédef'],
    ['a value over 512 characters', `rest_api_key=${'k'.repeat(513)}`],
    ['another word glued to the scheme name', 'rest_api_keys=abc'],
    // A Kelvin sign lower-cases to "k": the scheme name is read as ASCII, never through toLowerCase.
    ['a Kelvin sign in the scheme name', 'rest_api_\u212Aey=abc'],
  ])('refuses %s with 400', async (_, value) => {
    const { auth } = await withKey([schemes.restApiKey()])
    expect(seen(await auth({ headers: { authorization: value } })).reason).toBe('malformed_credentials')
  })

  it('reads a value of 512 characters, with SP or HTAB around the equals sign', async () => {
    const { h, auth } = await withKey([schemes.restApiKey()])
    const ref = `r${'0'.repeat(511)}`
    await h.manager.import({ key: ref, kind: 'user', owner: 'svc', role: 'Read Only' })
    for (const value of [`rest_api_key=${ref}`, `rest_api_key\t=\t${ref}`, `\trest_api_key =${ref}\t`]) {
      expect([value, (await auth({ headers: { authorization: value } })).allow]).toEqual([value, true])
    }
  })

  it('refuses a Kelvin sign in the scheme name even before a real key', async () => {
    const { h, auth } = await withKey([schemes.restApiKey()])
    const ref = '3f0e8a52-6a1c-4c57-9d5e-2a8c1f0b7e44'
    await h.manager.import({ key: ref, kind: 'user', owner: 'svc', role: 'Read Only' })
    expect(seen(await auth({ headers: { authorization: `rest_api_\u212Aey=${ref}` } })).reason).toBe('malformed_credentials')
  })

  it('refuses a repeated Authorization whose second value alone is rest_api_key, rather than reading the first', async () => {
    const { h, auth } = await withKey([schemes.restApiKey()])
    const ref = '3f0e8a52-6a1c-4c57-9d5e-2a8c1f0b7e44'
    await h.manager.import({ key: ref, kind: 'user', owner: 'svc', role: 'Read Only' })
    expect(seen(await auth({ headers: { authorization: ['Bearer abc', `rest_api_key=${ref}`] } })).reason).toBe('malformed_credentials')
    expect(seen(await auth({ headers: ['authorization', 'Bearer abc', 'Authorization', `rest_api_key=${ref}`] })).reason).toBe('malformed_credentials')
  })

  it('ignores an Authorization header of another scheme', async () => {
    const { key, auth } = await withKey([schemes.restApiKey()])
    expect(seen(await auth({ headers: { authorization: `Bearer ${key}` } })).reason).toBe('missing_credentials')
  })
})

describe('bearer', () => {
  it('reads Authorization: Bearer <key> with any case of the scheme word', async () => {
    const { key, auth } = await withKey([schemes.bearer()])
    for (const v of [`Bearer ${key}`, `bearer ${key}`, `BEARER   ${key}`]) expect((await auth({ headers: { authorization: v } })).allow).toBe(true)
  })

  it('reads a token of 512 characters after SP or HTAB, and trailing whitespace is no part of it', async () => {
    const { h, auth } = await withKey([schemes.bearer()])
    const token = `t${'0'.repeat(511)}`
    await h.manager.import({ key: token, kind: 'user', owner: 'svc', role: 'Read Only' })
    for (const v of [`Bearer ${token}`, `Bearer\t${token}`, `\tBearer \t${token} \t`]) expect([v, (await auth({ headers: { authorization: v } })).allow]).toEqual([v, true])
    expect(seen(await auth({ headers: { authorization: `Bearer ${token}0` } })).reason).toBe('malformed_credentials')
  })

  it('reads a token of every token68 character class, "~" and trailing "=" included', async () => {
    const { h, auth } = await withKey([schemes.bearer()])
    const token = 'aZ09-._~+/=='
    await h.manager.import({ key: token, kind: 'user', owner: 'svc', role: 'Read Only' })
    expect((await auth({ headers: { authorization: `Bearer ${token}` } })).allow).toBe(true)
    expect((await auth({ headers: { authorization: `Bearer ~${token}` } })).allow).toBe(false)
  })

  it('refuses a repeated Authorization whose second value alone is Bearer, rather than reading the first', async () => {
    const { key, auth } = await withKey([schemes.bearer()])
    expect(seen(await auth({ headers: { authorization: ['Basic Og==', `Bearer ${key}`] } })).reason).toBe('malformed_credentials')
    expect(seen(await auth({ headers: ['Authorization', 'Digest x', 'authorization', `Bearer ${key}`] })).reason).toBe('malformed_credentials')
  })

  it.each([['Bearer'], ['Bearer '], ['Bearer a b'], ['Bearer a=b'], ['Bearer a,b'], ['Bearer "abc"'], ['Bearer ab\u0001'], ['Bearer abé']])('refuses %j with 400', async (value) => {
    const { auth } = await withKey([schemes.bearer()])
    expect(seen(await auth({ headers: { authorization: value } })).reason).toBe('malformed_credentials')
  })
})

describe('basic', () => {
  it('takes the key as the user name with an empty password (curl -u key:)', async () => {
    const { key, auth } = await withKey([schemes.basic()])
    expect((await auth({ headers: { authorization: basicOf(key, '') } })).allow).toBe(true)
  })

  it('takes the key as the password under any user name (curl -u api:key)', async () => {
    const { key, auth } = await withKey([schemes.basic()])
    expect((await auth({ headers: { authorization: basicOf('api', key) } })).allow).toBe(true)
    expect((await auth({ headers: { authorization: basicOf('', key) } })).allow).toBe(true)
  })

  it('reads the credentials after SP or HTAB, and trailing whitespace is no part of them', async () => {
    const { key, auth } = await withKey([schemes.basic()])
    const token = Buffer.from(`api:${key}`).toString('base64')
    for (const v of [`Basic\t${token}`, `basic  ${token} \t`, ` \tBASIC ${token}`]) expect([v, (await auth({ headers: { authorization: v } })).allow]).toEqual([v, true])
  })

  it('refuses a repeated Authorization whose second value alone is Basic, rather than reading the first', async () => {
    const { key, auth } = await withKey([schemes.basic()])
    expect(seen(await auth({ headers: { authorization: ['Bearer abc', basicOf('api', key)] } })).reason).toBe('malformed_credentials')
    expect(seen(await auth({ headers: ['Authorization', 'Digest x', 'authorization', basicOf('api', key)] })).reason).toBe('malformed_credentials')
  })

  it('splits at the first colon, so a colon in the password is part of the key', async () => {
    const { key, auth } = await withKey([schemes.basic()])
    expect(seen(await auth({ headers: { authorization: basicOf('api', `${key}:x`) } })).reason).toBe('unknown_key')
  })

  it.each([
    ['no colon', `Basic ${Buffer.from('justakey').toString('base64')}`],
    // token68 but not base64: "." is no base64 character. "a:b" is YTpi; read as if "." were a
    // digit, ".Tpi" still decodes to a non-ASCII user-id, a colon and the password "b".
    ['invalid base64', 'Basic .Tpi'],
    // "a:b" with a stray "=": refused for its padding, where without that rule it decodes to a colon pair.
    ['bad padding', 'Basic YTpi='],
    ['a control byte in the credentials', `Basic ${Buffer.from('api:a\u0001b').toString('base64')}`],
    ['a DEL byte in the credentials', `Basic ${Buffer.from('api:a\u007fb').toString('base64')}`],
    ['an HTAB in the credentials', `Basic ${Buffer.from('api:a\tb').toString('base64')}`],
    ['a control byte in the user-id of a UTF-8 pair', `Basic ${Buffer.from('j\u0000ö:pässwörd').toString('base64')}`],
  ])('refuses %s with 400', async (_, value) => {
    const { auth } = await withKey([schemes.basic()])
    expect(seen(await auth({ headers: { authorization: value } })).reason).toBe('malformed_credentials')
  })

  // RFC 7617 §2: user-id and password are any text without controls, either may be empty, and
  // the challenge advertises charset="UTF-8". Such credentials are well-formed; they are no key.
  const wellFormed: [string, string][] = [
    ['empty user and password (Basic Og==)', 'Basic Og=='],
    ["RFC 7617's own Aladdin:open sesame", 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=='],
    ['a UTF-8 password', `Basic ${Buffer.from('api:pässwörd', 'utf8').toString('base64')}`],
    ['a UTF-8 user-id and an empty password', `Basic ${Buffer.from('jörg:', 'utf8').toString('base64')}`],
    ['a latin1 password', `Basic ${Buffer.from('api:kéy', 'latin1').toString('base64')}`],
    ['a password with a space', `Basic ${Buffer.from('api:a key').toString('base64')}`],
    ['a password over 512 characters', `Basic ${Buffer.from(`api:${'k'.repeat(600)}`).toString('base64')}`],
  ]

  it.each(wellFormed)('refuses %s as invalid credentials: 401 with the Basic challenge, as an unknown key', async (_, value) => {
    const { h } = await withKey([schemes.basic()])
    let lookups = 0
    const counting = { findByHash: (hash: string) => (lookups++, h.store.findByHash(hash)) }
    const auth = h.authorizer({ schemes: [schemes.basic()], store: counting })
    const d = await auth({ headers: { authorization: value } })
    expect(lookups).toBe(0)
    expect(d.allow).toBe(false)
    if (d.allow) return
    expect({ status: d.status, code: d.code }).toEqual({ status: 401, code: 'invalid_credentials' })
    expect(d.headers['www-authenticate']).toBe('Basic realm="api", charset="UTF-8"')
    const unknown = await auth({ headers: { authorization: basicOf('api', 'kw_live_0000000000000000000000000000000000000') } })
    expect(!unknown.allow && [unknown.message, unknown.headers]).toEqual([d.message, d.headers])
  })

  it.each(wellFormed)('with Bearer and X-Api-Key configured too, still refuses %s with 401', async (_, value) => {
    const { auth } = await withKey([schemes.apiKeyHeader(), schemes.bearer(), schemes.basic()])
    expect(seen(await auth({ headers: { authorization: value } }))).toMatchObject({ status: 401, code: 'invalid_credentials' })
  })
})

/**
 * Each rule of strict base64 (RFC 4648 §3.3, §3.5, §4) and of RFC 7617 decoding, broken alone
 * in the encoding of a real key: without the rule, the text decodes to `user:key` and allows.
 */
describe('basic: exactly one accepted encoding of a credential', () => {
  /** The canonical encoding of `<user>:<key>` with a user-id of the length that gives `rem` bytes past the last full group. */
  function encoded(key: string, rem: 0 | 1 | 2, user = 'api'): { user: string; b64: string } {
    while ((user.length + 1 + key.length) % 3 !== rem) user += 'x'
    return { user, b64: Buffer.from(`${user}:${key}`, 'latin1').toString('base64') }
  }
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  /** The same 6-bit digit with `bits` of its low (padding) bits set: decodes to the same bytes when those bits are ignored. */
  const dirty = (c: string, bits: number) => B64[B64.indexOf(c) | ((1 << bits) - 1)]!

  const cases: [string, (key: string) => string][] = [
    ['a stray "=" after a full group', (k) => `${encoded(k, 0).b64}=`],
    ['a third "="', (k) => `${encoded(k, 1).b64}=`],
    ['a full group of "="', (k) => `${encoded(k, 0).b64}====`],
    ...[...'-_~.'].map((c): [string, (key: string) => string] => [
      `the token68 character "${c}", which base64 lacks, in the key's bytes`,
      (k) => {
        const b = encoded(k, 0).b64
        return `${b.slice(0, 12)}${c}${b.slice(13)}`
      },
    ]),
    ['a second "=" where one is due', (k) => `${encoded(k, 2).b64}=`],
    ['one "=" where two are due', (k) => encoded(k, 1).b64.slice(0, -1)],
    ['a dangling sixth bit group (length 4n+1)', (k) => `${encoded(k, 0).b64}A`],
    ['non-zero padding bits before "=="', (k) => {
      const b = encoded(k, 1).b64
      return `${b.slice(0, -3)}${dirty(b.at(-3)!, 4)}==`
    }],
    ['non-zero padding bits before "="', (k) => {
      const b = encoded(k, 2).b64
      return `${b.slice(0, -2)}${dirty(b.at(-2)!, 2)}=`
    }],
    ['non-zero padding bits without the padding', (k) => {
      const b = encoded(k, 1).b64.slice(0, -2)
      return `${b.slice(0, -1)}${dirty(b.at(-1)!, 4)}`
    }],
    ['a control byte in the ignored user-id', (k) => Buffer.from(`a\u0001pi:${k}`).toString('base64')],
    ['a DEL byte in the ignored user-id', (k) => Buffer.from(`api\u007f:${k}`).toString('base64')],
    ['an HTAB in the ignored user-id', (k) => Buffer.from(`a\tpi:${k}`).toString('base64')],
  ]

  it.each(cases)('refuses %s with 400, though the bytes hold the key', async (_, encode) => {
    const { key, auth } = await withKey([schemes.basic()])
    const value = encode(key)
    expect(seen(await auth({ headers: { authorization: `Basic ${value}` } })).reason).toBe('malformed_credentials')
  })

  it.each([0, 1, 2] as const)('allows the canonical encoding, padded or not (%i bytes past the last group)', async (rem) => {
    const { key, auth } = await withKey([schemes.basic()])
    const { b64 } = encoded(key, rem)
    expect((await auth({ headers: { authorization: `Basic ${b64}` } })).allow).toBe(true)
    expect((await auth({ headers: { authorization: `Basic ${b64.replace(/=+$/, '')}` } })).allow).toBe(true)
  })

  it('allows a UTF-8 user-id: the user-id is ignored and any text (RFC 7617 §2.1)', async () => {
    const { key, auth } = await withKey([schemes.basic()])
    expect((await auth({ headers: { authorization: `Basic ${Buffer.from(`jörg:${key}`, 'utf8').toString('base64')}` } })).allow).toBe(true)
  })

  it('refuses credentials over 2048 bytes as malformed, and takes 2048 as text that is no key', async () => {
    const { auth } = await withKey([schemes.basic()])
    const long = Buffer.from(`api:${'k'.repeat(2045)}`).toString('base64')
    const fits = Buffer.from(`api:${'k'.repeat(2044)}`).toString('base64')
    expect(seen(await auth({ headers: { authorization: `Basic ${long}` } })).reason).toBe('malformed_credentials')
    expect(seen(await auth({ headers: { authorization: `Basic ${fits}` } })).reason).toBe('invalid_token')
  })
})

describe('contrast', () => {
  const b64 = (text: string) => Buffer.from(text, 'latin1').toString('base64')

  async function pair(list: () => Scheme[] = () => [schemes.contrast()]) {
    const h = harness()
    const org = await h.issue({ kind: 'tenant', tenant: 'org-1' })
    const svc = await h.issue({ kind: 'user', owner: 'ana@acme.test', tenant: 'org-1', role: 'Read Only' })
    const solo = await h.issue({ kind: 'user', owner: 'bob', role: 'Read Only' })
    return { h, org: org.key, svc: svc.key, solo: solo.key, auth: h.authorizer({ schemes: list() }) }
  }

  it('reads the pair with or without the Basic word, in any case, with SP or HTAB around either value', async () => {
    const { org, svc, auth } = await pair()
    const creds = b64(`ana@acme.test:${svc}`)
    for (const authorization of [creds, ` ${creds}\t`, `Basic ${creds}`, `basic\t${creds} `, `BASIC  ${creds}`]) {
      for (const apiKey of [org, ` ${org}\t`]) {
        const d = await auth({ headers: { 'api-key': apiKey, authorization } })
        expect([authorization, apiKey, d.allow && d.principal.scheme]).toEqual([authorization, apiKey, 'contrast'])
      }
    }
  })

  it.each([
    ['no user name', (svc: string) => b64(`:${svc}`)],
    ['no service key', () => b64('ana@acme.test:')],
    ['a user name with a space', (svc: string) => b64(`ana smith:${svc}`)],
    ['a service key with a non-ASCII byte', (svc: string) => b64(`ana@acme.test:${svc}\u00e9`)],
    ['empty Basic credentials', () => `Basic ${b64(':')}`],
  ])('answers a well-formed Authorization with %s as invalid credentials: 401 with the challenge', async (_, value) => {
    const { org, svc, auth } = await pair()
    const d = await auth({ headers: { 'api-key': org, authorization: value(svc) } })
    expect(d.allow ? 200 : [d.status, d.code, d.reason, d.headers['www-authenticate']]).toEqual([401, 'invalid_credentials', 'invalid_token', 'Contrast realm="api", header="API-Key"'])
  })

  it.each([
    ['no colon', () => b64('no colon here')],
    ['a control byte', (svc: string) => b64(`ana\u0001:${svc}`)],
    ['the Basic word alone', () => 'Basic'],
    ['Basic text that is no base64', () => 'Basic !!!'],
    ['a token68 that is no base64', () => 'YT.i'],
  ])('refuses an Authorization with %s next to API-Key with 400', async (_, value) => {
    const { org, svc, auth } = await pair()
    expect(seen(await auth({ headers: { 'api-key': org, authorization: value(svc) } }))).toEqual({ status: 400, code: 'invalid_request', reason: 'malformed_credentials' })
  })

  it.each([['empty', ''], ['an inner space', 'kw a'], ['a non-ASCII character', 'kwé']])('refuses an API-Key that is %s with 400, even next to another scheme\'s good key', async (_, apiKey) => {
    const { svc, solo, auth } = await pair(() => [schemes.contrast(), schemes.apiKeyHeader()])
    expect(seen(await auth({ headers: { 'api-key': apiKey, authorization: b64(`ana@acme.test:${svc}`) } })).reason).toBe('malformed_credentials')
    expect(seen(await auth({ headers: { 'api-key': apiKey, 'x-api-key': solo } })).reason).toBe('malformed_credentials')
  })

  it.each([['another scheme', 'Bearer abc'], ['an auth-param list', 'Digest realm="x"'], ['text that is no token68', 'ana:key']])(
    'takes an Authorization of %s as not its own: API-Key alone is then half a pair',
    async (_, authorization) => {
      const { org, auth } = await pair()
      expect(seen(await auth({ headers: { 'api-key': org, authorization } })).reason).toBe('missing_credentials')
    },
  )

  it("leaves an Authorization that is not its own to the other schemes, and refuses its own half next to another scheme's key", async () => {
    const { org, svc, solo, auth } = await pair(() => [schemes.contrast(), schemes.apiKeyHeader()])
    expect((await auth({ headers: { 'x-api-key': solo, authorization: 'Bearer something' } })).allow).toBe(true)
    expect(seen(await auth({ headers: { 'x-api-key': solo, authorization: b64(`ana@acme.test:${svc}`) } })).reason).toBe('conflicting_credentials')
    expect(seen(await auth({ headers: { 'x-api-key': solo, 'api-key': org } })).reason).toBe('conflicting_credentials')
  })
})

describe('what extract() hands back, read directly', () => {
  const values = (entries: [string, string[]][]) => new Map(entries)
  const b64 = (text: string) => Buffer.from(text).toString('base64')

  it('answers malformed credentials as a reading, never by throwing', () => {
    const auth = ['authorization']
    expect(schemes.basic().extract(values([['authorization', ['Basic !!!']]]))).toEqual({ type: 'malformed', sources: auth })
    expect(schemes.basic().extract(values([['authorization', [`Basic ${b64('no colon')}`]]]))).toEqual({ type: 'malformed', sources: auth })
    expect(schemes.bearer().extract(values([['authorization', ['Bearer a b']]]))).toEqual({ type: 'malformed', sources: auth })
    expect(schemes.restApiKey().extract(values([['authorization', ['rest_api_key=']]]))).toEqual({ type: 'malformed', sources: auth })
    expect(schemes.apiKeyHeader().extract(values([['x-api-key', ['a b']]]))).toEqual({ type: 'malformed', sources: ['x-api-key'] })
    const contrast = schemes.contrast()
    expect(contrast.extract(values([['api-key', ['org']], ['authorization', ['Basic !!!']]]))).toEqual({ type: 'malformed', sources: ['api-key', 'authorization'] })
    expect(contrast.extract(values([['api-key', ['org']], ['authorization', [b64('no colon')]]]))).toEqual({ type: 'malformed', sources: ['api-key', 'authorization'] })
  })

  it('names the Contrast header each half or fault comes from', () => {
    const contrast = schemes.contrast()
    const pair = b64('ana:svc')
    expect(contrast.extract(values([['api-key', ['a b']], ['authorization', [pair]]]))).toEqual({ type: 'malformed', sources: ['api-key'] })
    expect(contrast.extract(values([['api-key', ['org']]]))).toEqual({ type: 'partial', sources: ['api-key'] })
    expect(contrast.extract(values([['authorization', [pair]]]))).toEqual({ type: 'partial', sources: ['authorization'] })
    expect(contrast.extract(values([['authorization', ['Bearer x']]]))).toBeUndefined()
    expect(contrast.extract(values([['api-key', ['org']], ['authorization', [pair]]]))).toEqual({ type: 'pair', tenantKey: 'org', user: 'ana', key: 'svc', sources: ['api-key', 'authorization'] })
  })

  it('reads the key of each single-header scheme with its source', () => {
    expect(schemes.basic().extract(values([['authorization', [`Basic ${b64('api:k1')}`]]]))).toEqual({ type: 'key', key: 'k1', sources: ['authorization'] })
    expect(schemes.bearer().extract(values([['authorization', ['Bearer k2']]]))).toEqual({ type: 'key', key: 'k2', sources: ['authorization'] })
    expect(schemes.restApiKey().extract(values([['authorization', ['rest_api_key=k3']]]))).toEqual({ type: 'key', key: 'k3', sources: ['authorization'] })
    expect(schemes.ssapi().extract(values([['x-ssapi-key', ['k4']]]))).toEqual({ type: 'key', key: 'k4', sources: ['x-ssapi-key'] })
  })
})

describe('challenges', () => {
  it('renders an auth-param value as a quoted-string, escaping quotes and backslashes (RFC 9110 §5.6.4)', () => {
    expect(quoted('api')).toBe('"api"')
    expect(quoted('a "b" \\ c')).toBe('"a \\"b\\" \\\\ c"')
  })

  it.each([
    ['apiKeyHeader', () => schemes.apiKeyHeader(), { 'x-api-key': 'a b' }],
    ['basic', () => schemes.basic(), { authorization: 'Basic !!!' }],
    ['restApiKey', () => schemes.restApiKey(), { authorization: 'rest_api_key=' }],
    ['contrast', () => schemes.contrast(), { 'api-key': 'org', authorization: 'Basic !!!' }],
  ])('%s answers malformed credentials with 400 and no challenge (RFC 6750 error codes are Bearer\'s alone)', async (_, scheme, headers) => {
    const auth = harness().authorizer({ schemes: [scheme()] })
    const d = await auth({ headers })
    expect(d.allow ? 200 : [d.status, d.headers['www-authenticate']]).toEqual([400, undefined])
  })
})

describe('schemes that take no options', () => {
  /** A factory declared without parameters, called with an options object as untyped JavaScript would. */
  const withOptions = (factory: () => Scheme, options: object) => () => (factory as (o: object) => Scheme)(options)
  it.each([
    ['schemes.basic()', schemes.basic, { realm: 'x' }],
    ['schemes.bearer()', schemes.bearer, { realm: 'x' }],
    ['schemes.contrast()', schemes.contrast, { realm: 'x' }],
    ['schemes.restApiKey()', schemes.restApiKey, { realm: 'x' }],
    ['schemes.ssapi()', schemes.ssapi, { header: 'X-Other' }],
  ] as const)('%s accepts an empty options object and refuses a field, naming itself', (what, factory, options) => {
    const empty = withOptions(factory, {})
    const field = withOptions(factory, options)
    expect(() => empty()).not.toThrow()
    expect(field).toThrow(RangeError)
    expect(field).toThrow(`(${what} takes no options)`)
  })
})

describe('several schemes together', () => {
  it('leaves an Authorization of an unconfigured scheme alone', async () => {
    const { key, auth } = await withKey([schemes.apiKeyHeader()])
    expect((await auth({ headers: { 'x-api-key': key, authorization: 'Bearer something' } })).allow).toBe(true)
  })

  it('treats one Basic header as Basic, not as half of a Contrast pair', async () => {
    const { key, auth } = await withKey([schemes.contrast(), schemes.basic()])
    const d = await auth({ headers: { authorization: basicOf(key, '') } })
    expect(d.allow && d.principal.scheme).toBe('basic')
  })

  it('refuses a duplicated Authorization header', async () => {
    const { key, auth } = await withKey([schemes.bearer()])
    expect(seen(await auth({ headers: { authorization: [`Bearer ${key}`, `Bearer ${key}`] } })).reason).toBe('malformed_credentials')
  })

  it('refuses a duplicated Authorization header even when half a Contrast pair could be read', async () => {
    const { key, auth } = await withKey([schemes.contrast(), schemes.bearer()])
    expect(seen(await auth({ headers: { authorization: [`Bearer ${key}`, `Bearer ${key}`] } }))).toEqual({ status: 400, code: 'invalid_request', reason: 'malformed_credentials' })
  })

  it('refuses a malformed Basic header when Contrast is configured too', async () => {
    const { auth } = await withKey([schemes.contrast(), schemes.basic()])
    expect(seen(await auth({ headers: { authorization: 'Basic !!!!' } })).reason).toBe('malformed_credentials')
  })

  it('refuses configuring the same scheme twice', async () => {
    const h = harness()
    expect(() => h.authorizer({ schemes: [schemes.bearer(), schemes.bearer()] })).toThrow(/configured twice/)
  })
})
