/**
 * The public types of `keyward/testing`.
 * @module
 */
import type { Authorizer } from '../authorize.js'
import type { BreakerOptions } from '../lib/breaker.js'
import type { Pepper } from '../keys/hash.js'
import type { Roles } from '../roles.js'
import type { Scheme } from '../schemes/scheme.js'
import type { TenantResolver } from '../tenant.js'
import type { IssuedKey, IssueOptions, KeyManager, RotateOptions } from '../stores/manager.js'
import type { MemoryKeyStore } from '../stores/memory.js'
import type { AuthRequest, DecisionEvent, KeyKind, RateLimiter, RateLimitSpec } from '../types.js'
import type { TestClock } from './_clock.js'
import type { TestSchemeName } from './_headers.js'

/** Fields `issue` fills in when a spec leaves them out. */
export interface TestDefaults {
  /**
   * On Behalf Of for `user` keys.
   * @default 'tester@example.test'
   * @example 'ana@acme.test'
   */
  owner?: string
  /**
   * In Role for `user` keys (a role of `roles`).
   * @default undefined (a user key without a role holds no permission)
   * @example 'Read Write'
   */
  role?: string
  /**
   * Tenant of every key kind.
   * @default undefined
   * @example 'acme'
   */
  tenant?: string
}

/** Options of `createTestAuthority`. Validated when the kit is created. */
export interface TestAuthorityOptions {
  /**
   * The schemes the authorizer accepts: built-in names, or schemes you built (e.g.
   * `schemes.apiKeyHeader({ header: 'X-Acme-Key' })`). `'jwt'` is the kit's own token scheme,
   * which accepts the tokens `headersFor(key, 'jwt')` mints. Configure what production
   * configures when a test must see production's challenges and conflicts.
   * @default ['api-key', 'ssapi', 'rest-api-key', 'contrast', 'bearer', 'basic', 'jwt'] (every built-in scheme)
   * @example ['api-key']
   */
  schemes?: readonly (TestSchemeName | Scheme)[]
  /**
   * The role matrix, for the authorizer and the manager.
   * @default insightAppSecRoles
   * @example defineRoles({ levels: ['read', 'write'], roles: { viewer: ['reports:read'] } })
   */
  roles?: Roles
  /**
   * As `createAuthorizer`'s `tenant`: the tenant a request addresses (the request, and a
   * `header(name)` reader).
   * @default undefined (single-tenant)
   * @example (req) => req.url?.split('/')[2]
   */
  tenant?: TenantResolver
  /**
   * As `createAuthorizer`'s `trustProxy`. Loopback (`['127.0.0.1', '::1']`) lets a supertest
   * request choose its client address with `X-Forwarded-For`.
   * @default undefined (forwarded headers ignored)
   * @example ['127.0.0.1', '::1']
   */
  trustProxy?: readonly string[]
  /**
   * As `createAuthorizer`'s `requireTls`.
   * @default false
   * @example true
   */
  requireTls?: boolean
  /**
   * As `createAuthorizer`'s `explicitGrants`.
   * @default false
   * @example true
   */
  explicitGrants?: boolean
  /**
   * A per-key token bucket on the kit's clock, so refills happen when the test advances it.
   * Exclusive with `rateLimiter`.
   * @default undefined (no limit)
   * @example { capacity: 2, refillPerSecond: 1 }
   */
  rateLimit?: RateLimitSpec
  /**
   * Your own limiter, used as is (it keeps its own clock). Exclusive with `rateLimit`.
   * @default undefined (no limit)
   * @example tokenBucket({ capacity: 10, refillPerSecond: 1, now: () => Date.now() })
   */
  rateLimiter?: RateLimiter
  /**
   * As `createAuthorizer`'s `realm`.
   * @default 'api'
   * @example 'acme-api'
   */
  realm?: string
  /**
   * As `createAuthorizer`'s `exposeReasons`.
   * @default false
   * @example true
   */
  exposeReasons?: boolean
  /**
   * As `createAuthorizer`'s `storeTimeoutMs`.
   * @default 2000
   * @example 500
   */
  storeTimeoutMs?: number
  /**
   * As `createAuthorizer`'s `breaker`. It runs on the kit's clock.
   * @default { threshold: 5, cooldownMs: 2000 }
   * @example false
   */
  breaker?: BreakerOptions | false
  /**
   * As `createAuthorizer`'s `touchIntervalMs`. Off by default in tests: last-used writes run on a
   * real timer, which a test cannot control.
   * @default 0 (last-used times are not written)
   * @example 1000
   */
  touchIntervalMs?: number
  /**
   * Also receives every decision (the kit records them for `decisions()` either way).
   * @default undefined
   * @example (e) => console.log(e.reason)
   */
  onDecision?: (event: DecisionEvent) => void
  /**
   * What issued keys are derived from. Two kits with the same seed issue the same keys in the
   * same order. Without it, each kit gets `kit-<n>` (n counts the kits created in this module
   * instance), so keys are the same on every run of a test file and different between kits.
   * @default `kit-${n}`
   * @example 'billing-routes'
   */
  seed?: string
  /**
   * Prefix of the kit's keys: use your production prefix to test code that checks it. The
   * environment segment is always `test`.
   * @default 'kw'
   * @example 'acme'
   */
  prefix?: string
  /**
   * Where the clock starts (epoch milliseconds or a `Date`).
   * @default TEST_EPOCH (2030-01-01T00:00:00.000Z)
   * @example new Date('2031-06-01T00:00:00Z')
   */
  start?: number | Date
  /**
   * HMAC key for hashing keys. Only for code under test that hashes keys itself. Refused if it
   * equals the value of any environment variable whose name contains `PEPPER` (such as
   * `KEYWARD_PEPPER`): a production pepper has no business in a test. The kit never reads the
   * environment for a pepper.
   * @default TEST_PEPPER
   * @example 'my-test-pepper-0123456789abcdef0123'
   */
  pepper?: Pepper
  /**
   * Fields `issue` fills in when a spec leaves them out.
   * @default { owner: 'tester@example.test' }
   * @example { owner: 'ana@acme.test', role: 'Read Only', tenant: 'acme' }
   */
  defaults?: TestDefaults
}

/** What `issue` takes: `KeyManager.issue`'s options, with `kind` optional. */
export interface TestIssueSpec extends Omit<IssueOptions, 'kind'> {
  /**
   * `user`, `org` or `tenant` (a Contrast organization key).
   * @default 'user'
   * @example 'org'
   */
  kind?: KeyKind
}

/** Options of `headersFor` for key schemes. */
export interface HeadersForOptions {
  /**
   * A scheme name, or a scheme object you configured.
   * @default the first configured scheme that is not a token scheme
   * @example 'contrast'
   */
  scheme?: Exclude<TestSchemeName, 'jwt'> | Scheme
  /**
   * Contrast: the organization key for `API-Key`.
   * @default the latest organization (`tenant`) key the kit issued for the key's tenant
   * @example await kit.issue({ kind: 'tenant', tenant: 'acme' })
   */
  organizationKey?: string
  /**
   * Contrast: the user name sent with the service key. Basic: a user name, the key then being
   * the password (`curl -u user:key`).
   * @default Contrast: the key's owner; Basic: none (the key is the user name, `curl -u key:`)
   * @example 'someone-else@acme.test'
   */
  user?: string
}

/** Options of `headersFor` for the kit's JWT scheme. */
export interface TokenHeadersOptions {
  /**
   * The kit's token scheme.
   * @default (required)
   * @example 'jwt'
   */
  scheme: 'jwt'
  /**
   * Lifetime of the minted token, in seconds (1 to 3600), counted on the kit's clock.
   * @default 300
   * @example 60
   */
  ttlSec?: number
}

/** Request headers, lower-case names: for supertest's `.set()`, `fetch` and Hono's `app.request`. */
export type TestHeaders = Record<string, string>

/** What `createTestAuthority` returns. */
export interface TestAuthority {
  /** The real authorizer: give it to `guard()` of `keyward/express`, `keyward/koa` or `keyward/hono`. */
  readonly authorizer: Authorizer
  /** A real `KeyManager` on the kit's store and clock. Its `import` refuses non-`test` keys in keyward's shape. */
  readonly manager: KeyManager
  /** The kit's own in-memory store. Only the kit's keys are ever in it. */
  readonly store: MemoryKeyStore
  /** The clock of the authorizer, manager, minted tokens and `rateLimit`. */
  readonly clock: TestClock
  /**
   * Issues a deterministic test key and returns it. `kind` defaults to `user`, `owner`, `role`
   * and `tenant` to the kit's `defaults`.
   * @example const key = await kit.issue({ role: 'Read Write' })
   */
  issue(spec?: TestIssueSpec): Promise<string>
  /** As `issue`, returning the record too. */
  issueRecord(spec?: TestIssueSpec): Promise<IssuedKey>
  /**
   * Rotates a key (given as the key or its record id) to the next deterministic key and returns
   * it. The old key keeps working for `graceMs` on the kit's clock.
   * @example const next = await kit.rotate(key, { graceMs: 60_000 })
   */
  rotate(keyOrId: string, options: RotateOptions): Promise<string>
  /**
   * The headers that present `key` in a scheme. The kit's token scheme is asynchronous (the token
   * is signed): `await kit.headersFor(key, 'jwt')`.
   * @example await request(app).get('/scans').set(kit.headersFor(key, 'bearer'))
   */
  headersFor(key: string, scheme: 'jwt' | TokenHeadersOptions): Promise<TestHeaders>
  /** The headers that present `key` in a key scheme (the kit's first one when omitted); synchronous. */
  headersFor(key: string, scheme?: Exclude<TestSchemeName, 'jwt'> | Scheme | HeadersForOptions): TestHeaders
  /** Every decision the authorizer made since the kit was created or last cleared, oldest first. */
  decisions(): readonly DecisionEvent[]
  /** The latest decision, if any. */
  lastDecision(): DecisionEvent | undefined
  /** Forgets the recorded decisions. */
  clearDecisions(): void
  /** Flushes and stops the authorizer's timers. */
  close(): Promise<void>
}
