/**
 * Repeated header fields, through authorize(), for each scheme alone: a credential field that
 * appears twice is malformed (RFC 9110 §5.3: a repeat is a list, and no credential is a list),
 * even when both copies carry the same valid key. Each shape a framework hands over is covered:
 * Node's rawHeaders, a record with an array value, two record keys that differ only in case.
 * Headers a record inherits are not the request's.
 */
import { describe, expect, it } from 'vitest'
import { schemes, type AuthRequest, type Scheme } from '../../src/index.js'
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
