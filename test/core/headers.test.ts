/**
 * Repeated header fields, through authorize(), for each scheme alone: a credential field that
 * appears twice is malformed (RFC 9110 §5.3: a repeat is a list, and no credential is a list),
 * even when both copies carry the same valid key. Each shape a framework hands over is covered:
 * Node's rawHeaders, a record with an array value, two record keys that differ only in case.
 * Headers a record inherits are not the request's.
 */
import { describe, expect, it } from 'vitest'
import { schemes, type AuthRequest, type Scheme } from '../../src/index.js'
import { hasBadBytes } from '../../src/lib/headers.js'
import { basicOf, harness, seen } from '../_support/core.js'

type Fields = [name: string, value: string][]

/** The three shapes of one request whose fields repeat `twice` (by name). */
function shapes(fields: Fields, twice: string): [string, AuthRequest['headers']][] {
  const raw: string[] = []
  const record: Record<string, string | string[]> = {}
  const cased: Record<string, string> = {}
  for (const [name, value] of fields) {
    raw.push(name, value)
    record[name] = value
    cased[name] = value
    if (name === twice) {
      raw.push(name.toUpperCase(), value)
      record[name] = [value, value]
      cased[name.toUpperCase()] = value
    }
  }
  return [
    ['rawHeaders', raw],
    ['a record with an array value', record],
    ['a record with the name in two cases', cased],
  ]
}

async function setup() {
  const h = harness()
  const user = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
  const org = await h.issue({ kind: 'tenant', tenant: 'org-1' })
  const service = await h.issue({ kind: 'user', owner: 'svc', tenant: 'org-1', role: 'Read Only' })
  return { h, user, org, service }
}

type Case = [scheme: string, make: () => Scheme, fields: (k: Awaited<ReturnType<typeof setup>>) => Fields, twice: string]
const CASES: Case[] = [
  ['apiKeyHeader', () => schemes.apiKeyHeader(), (k) => [['x-api-key', k.user.key]], 'x-api-key'],
  ['basic', () => schemes.basic(), (k) => [['authorization', basicOf('api', k.user.key)]], 'authorization'],
  ['restApiKey', () => schemes.restApiKey(), (k) => [['authorization', `rest_api_key=${k.user.key}`]], 'authorization'],
  ['contrast (API-Key twice)', () => schemes.contrast(), (k) => [['api-key', k.org.key], ['authorization', Buffer.from(`svc:${k.service.key}`).toString('base64')]], 'api-key'],
  ['contrast (Authorization twice)', () => schemes.contrast(), (k) => [['api-key', k.org.key], ['authorization', Buffer.from(`svc:${k.service.key}`).toString('base64')]], 'authorization'],
]

describe('a repeated credential field is malformed, for each scheme alone', () => {
  it.each(CASES)('%s: allows the fields once (the control)', async (_, scheme, fields) => {
    const k = await setup()
    const auth = k.h.authorizer({ schemes: [scheme()] })
    const once = fields(k)
    expect((await auth({ headers: Object.fromEntries(once) })).allow).toBe(true)
    expect((await auth({ headers: once.flat() })).allow).toBe(true)
    // A single-element array is one field, not a repeat.
    expect((await auth({ headers: Object.fromEntries(once.map(([n, v]) => [n, [v]])) })).allow).toBe(true)
  })

  it.each(CASES)('%s: refuses the field twice with 400 in every header shape', async (_, scheme, fields, twice) => {
    const k = await setup()
    const auth = k.h.authorizer({ schemes: [scheme()] })
    for (const [shape, headers] of shapes(fields(k), twice)) {
      expect([shape, seen(await auth({ headers })).reason]).toEqual([shape, 'malformed_credentials'])
    }
  })

  it.each(CASES)('%s: ignores credential fields a header record only inherits', async (_, scheme, fields) => {
    const k = await setup()
    const auth = k.h.authorizer({ schemes: [scheme()] })
    const headers = Object.create(Object.fromEntries(fields(k))) as Record<string, string>
    expect(seen(await auth({ headers })).reason).toBe('missing_credentials')
  })
})

describe('a Contrast header repeated with its other half absent', () => {
  it('refuses API-Key twice with 400 in every header shape, with no Authorization at all', async () => {
    const k = await setup()
    const auth = k.h.authorizer({ schemes: [schemes.contrast()] })
    for (const [shape, headers] of shapes([['api-key', k.org.key]], 'api-key')) {
      expect([shape, seen(await auth({ headers })).reason]).toEqual([shape, 'malformed_credentials'])
    }
  })

  it('refuses the pair when only the second Authorization value is Contrast credentials, rather than reading the first', async () => {
    const k = await setup()
    const auth = k.h.authorizer({ schemes: [schemes.contrast()] })
    const pair = Buffer.from(`svc:${k.service.key}`).toString('base64')
    for (const first of ['Bearer abc', 'rest_api_key=abc', 'Digest x']) {
      const headers = { 'api-key': k.org.key, authorization: [first, pair] }
      expect([first, seen(await auth({ headers }))]).toEqual([first, { status: 400, code: 'invalid_request', reason: 'malformed_credentials' }])
    }
    // Alone, the same first value is another scheme's, and the organization key is half a pair.
    expect(seen(await auth({ headers: { 'api-key': k.org.key, authorization: 'Bearer abc' } })).reason).toBe('missing_credentials')
  })

  it('never reads a repeated Authorization alone as a credential: half a pair is missing credentials', async () => {
    const k = await setup()
    const auth = k.h.authorizer({ schemes: [schemes.contrast()] })
    const pair = Buffer.from(`svc:${k.service.key}`).toString('base64')
    for (const [shape, headers] of shapes([['authorization', pair]], 'authorization')) {
      expect([shape, seen(await auth({ headers }))]).toEqual([shape, { status: 401, code: 'missing_credentials', reason: 'missing_credentials' }])
    }
  })
})

describe('field names that are also Object.prototype members', () => {
  const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']

  it.each(NAMES)('reads a header named %s only from the fields the request carries', async (name) => {
    const k = await setup()
    const auth = k.h.authorizer({ schemes: [schemes.apiKeyHeader({ header: name, name: 'custom' })] })
    // A plain object has every such member by inheritance, never as a field.
    expect(seen(await auth({ headers: {} })).reason).toBe('missing_credentials')
    expect(seen(await auth({ headers: { 'x-other': 'x' } })).reason).toBe('missing_credentials')
    expect(seen(await auth({ headers: Object.create({ [name]: k.user.key }) as Record<string, string> })).reason).toBe('missing_credentials')
    // Sent, it is read like any other field: as an own property (JSON.parse keeps `__proto__` one), or in rawHeaders.
    const own = JSON.parse(JSON.stringify({ x: k.user.key }).replace('"x"', JSON.stringify(name))) as Record<string, string>
    expect(Object.hasOwn(own, name)).toBe(true)
    expect((await auth({ headers: own })).allow).toBe(true)
    expect((await auth({ headers: [name.toUpperCase(), k.user.key] })).allow).toBe(true)
    expect(seen(await auth({ headers: [name, k.user.key, name, k.user.key] })).reason).toBe('malformed_credentials')
  })

  it('reads the credential next to fields named constructor, __proto__ and toString', async () => {
    const k = await setup()
    const auth = k.h.authorizer({ schemes: [schemes.apiKeyHeader(), schemes.basic()] })
    const headers = JSON.parse(JSON.stringify({ constructor: 'x', __proto__: 'y', toString: 'z', 'x-api-key': k.user.key })) as Record<string, string>
    expect((await auth({ headers })).allow).toBe(true)
  })

  it('does not take a credential from a polluted Object.prototype', async () => {
    const k = await setup()
    const auth = k.h.authorizer({ schemes: [schemes.apiKeyHeader()] })
    const proto = Object.prototype as Record<string, unknown>
    proto['x-api-key'] = k.user.key
    try {
      expect(seen(await auth({ headers: {} })).reason).toBe('missing_credentials')
    } finally {
      delete proto['x-api-key']
    }
  })
})

describe('values that are not strings', () => {
  it('takes a field whose value holds no string as absent, in every header shape', async () => {
    const k = await setup()
    const auth = k.h.authorizer({ schemes: [schemes.apiKeyHeader()] })
    const key = k.user.key
    const absent: [string, unknown][] = [
      ['a number in a record', { 'x-api-key': 42 }],
      ['an array holding no string', { 'x-api-key': [42, null] }],
      ['an empty array', { 'x-api-key': [] }],
      ['an array holding the key, in rawHeaders', ['x-api-key', [key]]],
      ['a number in rawHeaders', ['x-api-key', 42]],
      ['a String object as the name in rawHeaders', [new String('X-Api-Key'), key]],
      ['a function carrying the field', Object.assign(() => undefined, { 'x-api-key': key })],
    ]
    for (const [what, headers] of absent) {
      expect([what, seen(await auth({ headers: headers as never })).reason]).toEqual([what, 'missing_credentials'])
    }
  })

  it('keeps the string values of an array and a second-cased field when other values are not strings', async () => {
    const k = await setup()
    const auth = k.h.authorizer({ schemes: [schemes.apiKeyHeader()] })
    const key = k.user.key
    expect((await auth({ headers: { 'x-api-key': [undefined, key] } as never })).allow).toBe(true)
    expect((await auth({ headers: { 'x-api-key': key, 'X-Api-Key': 42 } as never })).allow).toBe(true)
    expect((await auth({ headers: { 'X-Api-Key': [42], 'x-api-key': key } as never })).allow).toBe(true)
    expect((await auth({ headers: ['x-api-key', 42, 'X-API-KEY', key] as never })).allow).toBe(true)
  })

  it('reads a Fetch Headers object without the field as no credentials', async () => {
    const k = await setup()
    const auth = k.h.authorizer({ schemes: [schemes.apiKeyHeader(), schemes.basic()] })
    expect(seen(await auth({ headers: new Headers({ accept: '*/*' }) })).reason).toBe('missing_credentials')
    expect((await auth({ headers: new Headers({ accept: '*/*', 'X-API-KEY': k.user.key }) })).allow).toBe(true)
  })
})

describe('bad bytes in a field value', () => {
  it('flags every control character but HTAB, DEL and every character past ASCII, and nothing else', () => {
    for (let c = 0; c < 0x110; c++) {
      const bad = (c < 0x20 && c !== 0x09) || c > 0x7e
      const ch = String.fromCharCode(c)
      expect([c, hasBadBytes(`a${ch}b`), hasBadBytes(ch)]).toEqual([c, bad, bad])
    }
    expect(hasBadBytes('\ud800')).toBe(true)
    expect(hasBadBytes('')).toBe(false)
  })
})
