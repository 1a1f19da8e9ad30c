/**
 * Property: no Authorization value makes a jwt-configured `authorize` throw, or allow without a
 * valid signature. Values range from arbitrary bytes to near-misses of a valid token (one
 * character changed, forged headers and claims, wrong keys, repeated fields).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { renderDeny } from '../../src/decision.js'
import { schemes } from '../../src/schemes/index.js'
import type { Decision } from '../../src/types.js'
import { claims, compact, harness, hmacSigner, hs256, AUD, ISS, SECRET } from './_helpers.js'

const SEED = Number(process.env.KEYWARD_FC_SEED ?? 0x6a777421)
const VALID = hs256(claims())
const [VH, VP, VS] = VALID.split('.') as [string, string, string]
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** True only for the valid token, or a spelling of it whose signature decodes to the same bytes. */
function isGenuine(value: string | string[]): boolean {
  if (typeof value !== 'string') return false
  const m = /^[ \t]*bearer[ \t]+([^ \t]*)[ \t]*$/i.exec(value)
  if (!m) return false
  const parts = m[1]!.split('.')
  return parts.length === 3 && parts[0] === VH && parts[1] === VP && Buffer.from(parts[2]!, 'base64url').equals(Buffer.from(VS, 'base64url'))
}

const word = fc.constantFrom('Bearer ', 'bearer ', 'BEARER\t', 'Bearer  ', 'Bearer', 'Basic ', '')
const tokenish = fc.string({ unit: fc.constantFrom(...`${B64URL}.~+/=`.split('')), maxLength: 400 })
const mutated = fc.tuple(fc.nat({ max: VALID.length - 1 }), fc.constantFrom(...`${B64URL}.=~ +\u0000é`.split(''))).map(([i, c]) => VALID.slice(0, i) + c + VALID.slice(i + 1))
const truncated = fc.nat({ max: VALID.length }).map((n) => VALID.slice(0, n))
const header = fc.record(
  {
    alg: fc.oneof(fc.constantFrom('HS256', 'none', 'None', 'RS256', 'ES256', 'HS384', ''), fc.jsonValue()),
    typ: fc.oneof(fc.constant('JWT'), fc.jsonValue()),
    kid: fc.oneof(fc.string(), fc.jsonValue()),
    crit: fc.oneof(fc.constant(['b64']), fc.array(fc.string(), { maxLength: 2 }), fc.jsonValue()),
    b64: fc.boolean(),
    jwk: fc.jsonValue(),
  },
  { requiredKeys: [] },
)
const payload = fc.oneof(
  fc.dictionary(fc.constantFrom('iss', 'aud', 'sub', 'exp', 'nbf', 'iat', 'kw_kind', 'kw_role', 'scope', 'kw_grants', 'kw_key', '__proto__'), fc.jsonValue(), { maxKeys: 6 }).map((extra) => ({ ...claims(), ...extra })),
  fc.jsonValue(),
)
const signer = fc.oneof(
  fc.constant<(s: string) => string>(() => ''),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((k) => hmacSigner(k)),
  fc.constant(() => VS),
  fc.string({ unit: fc.constantFrom(...B64URL.split('')), maxLength: 90 }).map((s) => () => s),
)
const forged = fc.tuple(header, payload, signer).map(([h, p, s]) => compact(h, JSON.stringify(p) ?? 'null', s))

const value: fc.Arbitrary<string | string[]> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.tuple(word, fc.oneof(tokenish, mutated, truncated, forged)).map(([w, t]) => w + t),
  fc.array(fc.tuple(word, fc.oneof(mutated, forged, fc.constant(VALID))).map(([w, t]) => w + t), { minLength: 2, maxLength: 3 }),
)

function expectCleanDeny(d: Decision): void {
  expect(d.allow).toBe(false)
  if (d.allow) return
  expect([400, 401]).toContain(d.status)
  if (d.status === 401) expect(['missing_credentials', 'invalid_token', 'unknown_key', 'bad_checksum']).toContain(d.reason)
  else expect(['malformed_credentials', 'conflicting_credentials']).toContain(d.reason)
  const r = renderDeny(d)
  expect(JSON.parse(r.body)).toMatchObject({ status: d.status })
}

describe('property: arbitrary Authorization values', () => {
  const jwtOnly = harness([schemes.jwt({ key: SECRET, algorithms: ['HS256'], issuer: ISS, audience: AUD })])
  const withBearer = harness([schemes.bearer(), schemes.jwt({ key: SECRET, algorithms: ['HS256'], issuer: ISS, audience: AUD, cache: false })])

  it('the valid token is allowed (control for the property below)', async () => {
    expect((await jwtOnly.authorize(`Bearer ${VALID}`)).allow).toBe(true)
    expect(isGenuine(`Bearer ${VALID}`)).toBe(true)
    expect(isGenuine(`Bearer ${VH}.${VP}.${VS.slice(0, -1)}A`)).toBe(false)
  })

  it('never throws, and never allows without the genuine signature', async () => {
    await fc.assert(
      fc.asyncProperty(value, async (v) => {
        for (const h of [jwtOnly, withBearer]) {
          let d: Decision
          try {
            d = await h.authorize(v, 'scans:read')
          } catch (e) {
            throw new Error(`authorize threw: ${String(e)}`)
          }
          if (isGenuine(v)) expect(d.allow).toBe(true)
          else expectCleanDeny(d)
        }
      }),
      { seed: SEED, numRuns: 400 },
    )
  })
})
