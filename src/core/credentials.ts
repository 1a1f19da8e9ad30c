/**
 * From a credential to a subject: a single key (hash, checksum, lookup, tenant, record checks),
 * a Contrast pair (both halves looked up, matched, then both records checked), or a token
 * (verified by its scheme). Reading a record can throw (a getter over a dropped connection):
 * that is a store failure, a 503, never a rejection of `authorize()`.
 * @module
 */
import { BAD_CHECKSUM, keyShape } from '../keys/format.js'
import type { Allowlist } from '../net/ip.js'
import type { Extraction, Scheme, TokenIdentity } from '../schemes/scheme.js'
import type { Decision, KeyRecord } from '../types.js'
import { finish, tenantGate } from './access-checks.js'
import type { Check, Ctx, Step } from './context.js'
import type { Compiled, Subject } from './records.js'
import { checkRecord } from './record-checks.js'
import { failed, KEY, type Answer } from './store-gate.js'
import { deny, readFault, storeDown } from './verdict.js'

type Pair = Extract<Extraction, { type: 'pair' }>
/** What reading the store's answers gives: a deny, the subject of a key that passed, or a promise of either. */
type Reading = Decision | Subject | Promise<Decision | Subject>

/** `undefined` if the key's checksum is fine (or it is not keyward-shaped), else the deny. */
function checksumDeny(ctx: Ctx, key: string, known: Compiled | undefined): Decision | undefined {
  // Stryker disable next-line ConditionalExpression: equivalent, a hash enters the hot map only after its key passed this check (compiledFor runs after it), so a known key's checksum is good
  if (known !== undefined) return undefined
  return keyShape(key) === BAD_CHECKSUM ? deny(ctx, 'bad_checksum') : undefined
}

function proceed(ctx: Ctx, s: Reading): Step {
  if (s instanceof Promise) return s.then((x) => proceedWith(ctx, x), (e: unknown) => readFault(ctx, e))
  return proceedWith(ctx, s)
}
// `finish` runs outside the read guard: what the tenant function throws still rejects.
const proceedWith = (ctx: Ctx, x: Decision | Subject): Step => ('allow' in x ? x : finish(ctx, x))

/** A single key (X-Api-Key, bearer, Basic, ...). */
export function single(ctx: Ctx, key: string): Step {
  // Hashing first is safe: a key out of extraction is a non-empty string, which always hashes.
  const hash = ctx.e.hasher(key)
  const known = ctx.e.records.hot.get(hash)
  const bad = checksumDeny(ctx, key, known)
  if (bad) return bad
  const r = ctx.e.gate.lookup<KeyRecord>(ctx, KEY, hash)
  return r instanceof Promise ? r.then((v) => singleFound(ctx, hash, known, v)) : singleFound(ctx, hash, known, r)
}

function singleFound(ctx: Ctx, hash: string, known: Compiled | undefined, r: Answer<KeyRecord>): Step {
  if (failed(r)) return storeDown(ctx, r)
  let usable: boolean
  try {
    // A tenant (organization) key grants nothing on its own: alone, it is as good as unknown.
    usable = r !== undefined && r !== null && (r.kind === 'user' || r.kind === 'org')
    if (usable && ctx.e.pairing && r!.kind === 'user' && r!.tenant !== undefined && r!.owner !== undefined) usable = false
    if (usable) {
      ctx.keyId = r!.id
      ctx.tenant = r!.tenant
    }
  } catch (e) {
    return readFault(ctx, e)
  }
  if (!usable) return deny(ctx, 'unknown_key')
  const td = tenantGate(ctx, ctx.tenant)
  if (td !== undefined) return td
  let s: Reading
  try {
    s = singleChecks(ctx, hash, known, r!)
  } catch (e) {
    return readFault(ctx, e)
  }
  return proceed(ctx, s)
}

function singleChecks(ctx: Ctx, hash: string, known: Compiled | undefined, r: KeyRecord): Reading {
  const records = ctx.e.records
  const c = records.compiledFor(hash, r, known)
  ctx.keyId = r.id
  const checked = checkRecord(ctx, r, hash)
  if (checked === undefined) return records.subjectOf(r, c, ctx.group, ctx.owner, ctx.need.product)
  if (checked instanceof Promise) return checked.then((d) => d ?? records.subjectOf(r, c, ctx.group, ctx.owner, ctx.need.product))
  return checked
}

/** A Contrast pair: the organization (tenant) key and the user's service key. */
export function pair(ctx: Ctx, e: Pair): Step {
  const { hasher, records, gate } = ctx.e
  const th = hasher(e.tenantKey)
  const uh = hasher(e.key)
  const bad = checksumDeny(ctx, e.tenantKey, records.hot.get(th)) ?? checksumDeny(ctx, e.key, records.hot.get(uh))
  if (bad) return bad
  // Both lookups always run, so a wrong half costs the same time as a wrong whole.
  const tr = gate.lookup<KeyRecord>(ctx, KEY, th)
  const ur = gate.lookup<KeyRecord>(ctx, KEY, uh)
  if (tr instanceof Promise || ur instanceof Promise) return Promise.all([tr, ur]).then(([t, u]) => pairFound(ctx, e, th, uh, t, u))
  return pairFound(ctx, e, th, uh, tr, ur)
}

function pairFound(ctx: Ctx, e: Pair, th: string, uh: string, tr: Answer<KeyRecord>, ur: Answer<KeyRecord>): Step {
  if (failed(tr)) return storeDown(ctx, tr)
  if (failed(ur)) return storeDown(ctx, ur)
  let d: Decision | undefined
  try {
    d = pairMatch(ctx, e, th, uh, tr, ur)
  } catch (x) {
    return readFault(ctx, x)
  }
  if (d !== undefined) return d
  const td = tenantGate(ctx, ctx.tenant)
  if (td !== undefined) return td
  let s: Reading
  try {
    const tc = checkRecord(ctx, tr!, th)
    s = tc instanceof Promise ? tc.then((x) => tenantChecked(ctx, tr!, ur!, uh, x)) : tenantChecked(ctx, tr!, ur!, uh, tc)
  } catch (x) {
    return readFault(ctx, x)
  }
  return proceed(ctx, s)
}

/** Do the two halves belong together? A deny, or `undefined` (then both records are usable). */
function pairMatch(ctx: Ctx, e: Pair, th: string, uh: string, tr: KeyRecord | undefined | null, ur: KeyRecord | undefined | null): Decision | undefined {
  if (!tr || !ur || tr.kind !== 'tenant' || ur.kind !== 'user') return deny(ctx, 'unknown_key')
  const records = ctx.e.records
  records.compiledFor(th, tr, records.hot.get(th))
  records.compiledFor(uh, ur, records.hot.get(uh))
  ctx.keyId = ur.id
  ctx.tenant = ur.tenant
  if (ur.owner !== e.user) return deny(ctx, 'user_mismatch')
  if (tr.tenant === undefined || tr.tenant !== ur.tenant) return deny(ctx, 'tenant_mismatch')
  return undefined
}

function tenantChecked(ctx: Ctx, tr: KeyRecord, ur: KeyRecord, uh: string, tc: Check): Reading {
  if (tc !== undefined) return tc
  // The organization key's lists, read before the user key's checks replace ctx.group.
  const records = ctx.e.records
  const orgAllow = records.compile(tr).allow
  const orgGroup = ctx.group ? records.groupAllowlist(ctx.group) : undefined
  const uc = checkRecord(ctx, ur, uh)
  return uc instanceof Promise ? uc.then((x) => userChecked(ctx, ur, orgAllow, orgGroup, x)) : userChecked(ctx, ur, orgAllow, orgGroup, uc)
}

function userChecked(ctx: Ctx, ur: KeyRecord, orgAllow: Allowlist | undefined, orgGroup: Allowlist | undefined, uc: Check): Decision | Subject {
  if (uc !== undefined) return uc
  const records = ctx.e.records
  const c = records.compile(ur)
  return records.buildSubject(ur, c, ctx.owner, ctx.need.product, [c.allow, ctx.group ? records.groupAllowlist(ctx.group) : undefined, orgAllow, orgGroup])
}

/** A token, verified by its scheme (nothing to look up, nothing to record as used). */
export async function token(ctx: Ctx, scheme: Scheme, tokenText: string): Promise<Decision> {
  let outcome
  try {
    outcome = await scheme.verify!(tokenText, { now: ctx.at })
  } catch {
    // Stryker disable next-line ObjectLiteral: equivalent, any outcome that is not ok and not store_unavailable is denied as invalid_token without detail
    outcome = { ok: false as const, reason: 'invalid_token' as const }
  }
  if (!outcome.ok) {
    return outcome.reason === 'store_unavailable'
      ? deny(ctx, 'store_unavailable', { retryAfterSec: Math.max(1, Math.ceil(outcome.retryAfterSec ?? 1)), detail: outcome.detail ?? 'jwks' })
      : // Stryker disable next-line ConditionalExpression: equivalent, a deny reads detail with ?? and an event leaves out an undefined detail
        deny(ctx, 'invalid_token', outcome.detail === undefined ? undefined : { detail: outcome.detail })
  }
  const id: TokenIdentity = outcome.identity
  return finish(ctx, ctx.e.records.tokenSubject(id))
}
