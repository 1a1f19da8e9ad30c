/**
 * The shapes request time works on: the {@link Engine} (everything built once, at creation) and
 * the {@link Ctx} of one request.
 * @module
 */
import type { HeaderNames, HeaderValues } from '../lib/headers.js'
import type { CompiledNeed } from './needs.js'
import type { Toucher } from './_touch.js'
import type { ClientAddress } from '../net/proxy.js'
import type { Extraction, Scheme } from '../schemes/scheme.js'
import type { AuthRequest, Decision, KeyGroup, Need, OwnerRecord } from '../types.js'
import type { Config } from './options.js'
import type { DenyTable } from './deny.js'
import type { Records } from './records.js'
import type { Owed, StoreGate } from './store-gate.js'

/** Everything a request reads that was built when the authorizer was created. */
export interface Engine extends Config {
  readonly gate: StoreGate
  readonly records: Records
  readonly denies: DenyTable
  readonly toucher: Toucher | undefined
  /** Lower-case names of every header a scheme (or the proxy policy) reads. */
  readonly headerNames: HeaderNames
  readonly compileNeed: (need: Need | CompiledNeed | undefined) => CompiledNeed
  /** Finds the one credential of a request; a deny reason, or `undefined` with `ctx.scheme`/`ctx.found` set. */
  readonly extract: (values: HeaderValues, sink: Ctx) => 'missing_credentials' | 'malformed_credentials' | 'conflicting_credentials' | undefined
  /**
   * Half of a Contrast pair never authenticates alone. Where pairs are accepted, a user key with
   * a tenant and an owner (what the pair check takes as the user half: a service key) is accepted
   * only with its organization key: through any other scheme it is as good as unknown.
   */
  readonly pairing: boolean
}

/**
 * One request's state while it is decided. A class with every field set in the constructor, so
 * all contexts share one shape (fields added later would change it on the hot path).
 */
export class Ctx {
  scheme: Scheme | undefined = undefined
  /** What `scheme` found, once extraction succeeded. */
  found: Extraction | undefined = undefined
  keyId: string | undefined = undefined
  tenant: string | undefined = undefined
  client: ClientAddress | undefined = undefined
  /** Set by a passing record check: the key's group and owner as the store answered. */
  group: KeyGroup | undefined = undefined
  owner: OwnerRecord | undefined = undefined
  /** Set only after a store failure: a peeked answer not yet reported to the breaker. */
  owed: Owed | undefined = undefined
  /** Set once the request's tenant was compared with the key's (right after the key lookup). */
  tenantDone = false
  /** `describe()`: every check but the route's explicit grant (there is no route). */
  // Stryker disable next-line BooleanLiteral: equivalent, decide() sets it on every context it makes
  describing = false
  constructor(
    readonly e: Engine,
    readonly request: AuthRequest,
    readonly values: HeaderValues,
    readonly at: number,
    readonly t0: number,
    readonly need: CompiledNeed,
  ) {}
}

/** What a step of the decision gives: the decision now, or later when a lookup went to the store. */
export type Step = Decision | Promise<Decision>
/** A record check: a deny, or `undefined` when the record passed (its group and owner are then on the context). */
export type Check = Decision | undefined

/** The client address of the request, parsed once per request (and once per peer, see `NetPolicy`). */
export function clientOf(ctx: Ctx): ClientAddress {
  let c = ctx.client
  // Stryker disable next-line ConditionalExpression: equivalent, a cache: parsing again gives the same address
  if (c === undefined) {
    // Stryker disable next-line ConditionalExpression: equivalent, NetPolicy parses the peer with socketAddress, which takes a non-string as no address
    const remote = typeof ctx.request.remoteAddress === 'string' ? ctx.request.remoteAddress : undefined
    c = ctx.client = ctx.e.net.clientAddress(remote, ctx.values.get('x-forwarded-for'))
  }
  return c
}
