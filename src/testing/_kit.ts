/**
 * What a test authority does once it is built: issuing and rotating its deterministic keys, and
 * the headers (or token) that present a key in each scheme. Each function takes the kit's state.
 * @module
 */
import type { Authorizer } from '../authorize.js'
import { KeywardError, NotFoundError, quote, rangeError, typeError } from '../errors.js'
import type { Hasher } from '../keys/hash.js'
import type { Scheme } from '../schemes/scheme.js'
import type { IssuedKey, IssueOptions, RotateOptions } from '../stores/manager.js'
import * as F from '../stores/fields.js'
import { mintToken } from '../tokens.js'
import type { KeyRecord } from '../types.js'
import { carrierByName, carrierOf, contrastHeaders, keyHeaders, type Carrier } from './_headers.js'
import { testKey } from './_keys.js'
import type { TestKeyManager, TestKeyStore } from './_store.js'
import type { HeadersForOptions, TestHeaders, TestIssueSpec, TokenHeadersOptions } from './types.js'

/** `iss` and `aud` of the tokens the kit mints and its `jwt` scheme accepts. */
export const TEST_JWT_ISSUER = 'keyward-testing'

const HEADERS_FOR_FIELDS: ReadonlySet<string> = new Set(['scheme', 'organizationKey', 'user', 'ttlSec'])

/** The state of one kit that its operations share. */
export interface Kit {
  readonly seed: string
  readonly prefix: string
  readonly hasher: Hasher
  readonly store: TestKeyStore
  readonly manager: TestKeyManager
  readonly authorizer: Authorizer
  /** Authenticates a key as the kit would, without allowlists, to mint its token. */
  readonly minter: Authorizer
  /** The kit's own JWT secret. */
  readonly secret: Uint8Array
  readonly now: () => number
  readonly defaults: { readonly owner: string; readonly role: string | undefined; readonly tenant: string | undefined }
  /** Plaintexts of the organization keys the kit issued, by record id, newest last. */
  readonly orgKeys: Map<string, string>
  /** Keys made so far: the next one is number `issued + 1`. */
  issued: number
}

function nextKey(kit: Kit): string {
  return testKey(kit.seed, kit.prefix, ++kit.issued)
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw typeError(field, 'must be a string')
  return value
}

function recordOf(kit: Kit, key: string): KeyRecord | undefined {
  return key.length === 0 ? undefined : kit.store.recordByHash(kit.hasher(key))
}

function organizationKeyFor(kit: Kit, tenant: string | undefined): string | undefined {
  if (tenant === undefined) return undefined
  for (const [id, key] of [...kit.orgKeys].reverse()) {
    const r = kit.store.recordById(id)
    const h = kit.hasher(key)
    if (r !== undefined && r.kind === 'tenant' && r.tenant === tenant && (r.hash === h || r.previousHash === h)) return key
  }
  return undefined
}

/** `kit.issueRecord`: the kit's defaults filled in, the next deterministic key imported. */
export async function issueRecord(kit: Kit, spec: TestIssueSpec = {}): Promise<IssuedKey> {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw typeError('spec', 'must be an object')
  if (Object.hasOwn(spec, 'key')) throw rangeError('spec', 'unknown field "key" (the kit makes its own keys; to import one, use kit.manager.import)')
  const { defaults } = kit
  const kind = spec.kind ?? 'user'
  const input: IssueOptions = { ...spec, kind }
  if (input.tenant === undefined && defaults.tenant !== undefined) input.tenant = defaults.tenant
  if (kind === 'user') {
    if (input.owner === undefined) input.owner = defaults.owner
    if (input.role === undefined && defaults.role !== undefined) input.role = defaults.role
  }
  const key = nextKey(kit)
  const record = await kit.manager.import({ ...input, key })
  if (record.kind === 'tenant') kit.orgKeys.set(record.id, key)
  return { key, record }
}

/** `kit.rotate`: the manager rotates, then the next deterministic key replaces its random one. */
export async function rotateKey(kit: Kit, keyOrId: string, rotateOptions: RotateOptions): Promise<string> {
  if (typeof keyOrId !== 'string') throw typeError('keyOrId', 'must be a key or a key id')
  const { store, hasher } = kit
  const found = recordOf(kit, keyOrId) ?? store.recordById(keyOrId)
  if (found === undefined) throw new NotFoundError('rotate: no key of this kit matches (pass a key it issued, or its record id)')
  // The manager does the rotation (validation, grace period, locking); its random replacement
  // is then swapped for the next deterministic key before anyone could have seen it.
  const { key: random } = await kit.manager.rotate(found.id, rotateOptions)
  const key = nextKey(kit)
  const current = await store.getKey(found.id)
  if (current === undefined || current.hash !== hasher(random)) throw new KeywardError('rotate: the key changed while it was being rotated')
  await store.updateKey({ ...current, hash: hasher(key) }, current)
  if (current.kind === 'tenant') {
    kit.orgKeys.delete(current.id)
    kit.orgKeys.set(current.id, key)
  }
  return key
}

async function tokenHeaders(kit: Kit, key: string, ttlSec: unknown): Promise<TestHeaders> {
  const d = await kit.minter.authorize({ method: 'GET', url: '/', headers: { 'x-api-key': key } })
  if (!d.allow) throw rangeError('key', `cannot be turned into a token: the kit denies it (${d.reason})`)
  const token = await mintToken(d.principal, {
    key: kit.secret,
    algorithm: 'HS256',
    issuer: TEST_JWT_ISSUER,
    audience: TEST_JWT_ISSUER,
    now: kit.now,
    ...(ttlSec === undefined ? {} : { ttlSec: ttlSec as number }),
  })
  return { authorization: `Bearer ${token}` }
}

function carrierFor(authorizer: Authorizer, scheme: unknown, field: string): Carrier {
  if (scheme === undefined) {
    for (const s of authorizer.schemes) {
      const c = carrierOf(s)
      if (c !== undefined && c.type !== 'token') return c
    }
    throw typeError(field, 'is required: the kit has no key scheme configured (for a token, headersFor(key, "jwt"))')
  }
  if (typeof scheme === 'string') return carrierByName(scheme, authorizer.schemes, field)
  if (scheme !== null && typeof scheme === 'object' && typeof (scheme as Scheme).extract === 'function') {
    const c = carrierOf(scheme as Scheme)
    if (c === undefined) throw typeError(field, `cannot build headers for the custom scheme ${quote((scheme as Scheme).name)}`)
    return c
  }
  throw typeError(field, 'must be a scheme name or a scheme')
}

/** The Contrast pair for `key`: its owner (or `user`) and its tenant's organization key (or the one given). */
function pairHeaders(kit: Kit, key: string, user: string | undefined, organizationKey: string | undefined): TestHeaders {
  const r = recordOf(kit, key)
  const name = user ?? r?.owner
  if (name === undefined) throw typeError('user', 'is required: the key is not a user key of this kit, so its owner is unknown')
  const org = organizationKey ?? organizationKeyFor(kit, r?.tenant)
  if (org === undefined) {
    throw typeError(
      'organizationKey',
      r?.tenant === undefined
        ? 'is required: the key has no tenant, so there is no organization key to pair it with'
        : `is required: the kit issued no organization key for tenant ${quote(r.tenant)} (await kit.issue({ kind: 'tenant', tenant: ${quote(r.tenant)} }))`,
    )
  }
  return contrastHeaders(org, name, key)
}

/** `kit.headersFor`: the headers that present `key` in a scheme, or a token for it (a promise). */
export function headersFor(kit: Kit, key: string, arg?: string | Scheme | HeadersForOptions | TokenHeadersOptions): TestHeaders | Promise<TestHeaders> {
  if (typeof key !== 'string') throw typeError('key', 'must be a string')
  // Read as unknowns: JavaScript callers (a CommonJS Jest test) get the same checks as TypeScript ones.
  let opts: { scheme?: unknown; organizationKey?: unknown; user?: unknown; ttlSec?: unknown } = {}
  let field = 'scheme'
  if (arg !== null && typeof arg === 'object' && typeof (arg as Scheme).extract !== 'function') {
    F.onlyFields(arg, HEADERS_FOR_FIELDS, 'options')
    opts = arg as typeof opts
    field = 'options.scheme'
  } else if (arg !== undefined) {
    opts = { scheme: arg }
  }
  const carrier = carrierFor(kit.authorizer, opts.scheme, field)
  if (carrier.type === 'token') return tokenHeaders(kit, key, opts.ttlSec)
  if (opts.ttlSec !== undefined) throw rangeError('ttlSec', 'applies to the jwt scheme only')
  const user = optionalString(opts.user, 'user')
  const organizationKey = optionalString(opts.organizationKey, 'organizationKey')
  if (carrier.type === 'contrast') return pairHeaders(kit, key, user, organizationKey)
  if (organizationKey !== undefined) throw rangeError('organizationKey', 'applies to the contrast scheme only')
  if (user !== undefined && carrier.type !== 'basic') throw rangeError('user', 'applies to the contrast and basic schemes only')
  return keyHeaders(carrier, key, user)
}
