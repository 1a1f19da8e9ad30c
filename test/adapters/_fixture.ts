/**
 * One key store and one set of authorizer configurations, shared by every framework under test.
 * Authorizers are built fresh per server (`makeAuthorizers`) so stateful parts (rate limiter,
 * circuit breaker) see the same sequence of requests in each framework.
 */
import {
  createAuthorizer,
  generateKey,
  KeyManager,
  MemoryKeyStore,
  schemes,
  tenantFromHost,
  tenantFromPath,
  tokenBucket,
  type Authorizer,
  type CreditLedger,
  type KeyStore,
  type Need,
} from '../../src/index.js'
import { charged, type Balance } from '../../src/lib/credits.js'
import { T0, testClock } from '../_support/clock.js'

/** Issue time of every key (the shared `T0`); authorizers run one minute later (no wall clock anywhere). */
export { T0 }
export const NOW = T0 + 60_000

export const IVANTI_REF = '9F3A0C5E2B7D4E1A8C6F0B2D4E6A8C0E'
export const IVANTI_OTHER_TENANT_REF = '0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E'
export const IVANTI_FAR_REF = '7E6D5C4B3A29180716253443526170FF'

export interface Fixture {
  readonly store: MemoryKeyStore
  /** Plaintext keys by label (test-only; never printed). */
  readonly keys: Readonly<Record<string, string>>
  /** Key record ids by label. */
  readonly ids: Readonly<Record<string, string>>
}

/** Issues every key the table uses. */
export async function makeFixture(): Promise<Fixture> {
  const store = new MemoryKeyStore()
  const m = new KeyManager(store, { now: testClock().now })
  const keys: Record<string, string> = {}
  const ids: Record<string, string> = {}
  const issue = async (label: string, o: Parameters<KeyManager['issue']>[0]) => {
    const { key, record } = await m.issue(o)
    keys[label] = key
    ids[label] = record.id
  }
  await issue('rw', { kind: 'user', owner: 'ana', role: 'Read Write' })
  await issue('ro', { kind: 'user', owner: 'rob', role: 'Read Only' })
  await issue('org', { kind: 'org', tenant: 'acme' })
  await issue('disabled', { kind: 'user', owner: 'dan', role: 'Read Write', active: false })
  await issue('expiring', { kind: 'user', owner: 'eve', role: 'Read Write', expiresAt: T0 + 1000 })
  await issue('rotated', { kind: 'user', owner: 'ron', role: 'Read Write' })
  await m.rotate(ids.rotated!, { graceMs: 0 })
  await issue('lan', { kind: 'user', owner: 'lia', role: 'Read Only', allowedIps: ['10.0.0.0/8'] })
  await issue('local', { kind: 'user', owner: 'lou', role: 'Read Only', allowedIps: ['127.0.0.1/32'] })
  await issue('limited', { kind: 'user', owner: 'lim', role: 'Read Only' })
  await issue('trial', { kind: 'user', owner: 'tia', role: 'Read Only', credits: { remaining: 3, refill: { amount: 3, interval: 'day' } } })
  await issue('ssapi', { kind: 'user', owner: 'sam', role: 'Product Admin', grants: ['GetProjects'] })
  // Ivanti: keys in a key group of tenant acme, allowed from loopback; Reference IDs imported.
  const group = await m.createGroup({ name: 'Integrations', tenant: 'acme', allowedIps: ['127.0.0.0/8'] })
  const imp = async (label: string, o: Parameters<KeyManager['import']>[0]) => {
    keys[label] = o.key
    ids[label] = (await m.import(o)).id
  }
  await imp('ivanti', { key: IVANTI_REF, kind: 'user', tenant: 'acme', group: group.id, owner: 'svc', role: 'Read Write' })
  await imp('ivantiGlobex', { key: IVANTI_OTHER_TENANT_REF, kind: 'user', tenant: 'globex', owner: 'svc', role: 'Read Write' })
  await imp('ivantiFar', { key: IVANTI_FAR_REF, kind: 'user', tenant: 'acme', owner: 'svc', role: 'Read Write', allowedIps: ['192.0.2.0/24'] })
  // Contrast: the organization key and two users' service keys; lee is locked.
  await issue('contrastOrg', { kind: 'tenant', tenant: 'acme' })
  await issue('contrastAna', { kind: 'user', tenant: 'acme', owner: 'ana@acme.test', role: 'Read Write' })
  await issue('contrastLee', { kind: 'user', tenant: 'acme', owner: 'lee@acme.test', role: 'Read Write' })
  await store.putOwner('lee@acme.test', { active: false })
  await store.putOwner('ana@acme.test', { active: true, role: 'Read Write' })
  keys.unknown = generateKey()
  // Same shape as a real key, last checksum character changed.
  const rw = keys.rw!
  keys.badChecksum = rw.slice(0, -1) + (rw.endsWith('A') ? 'B' : 'A')
  return { store, keys, ids }
}

/** A store that is down: every lookup rejects. */
export function downStore(): KeyStore {
  return {
    findByHash: () => Promise.reject(new Error('connection refused')),
  }
}

/** The authorizer configurations, by route prefix. */
export type AuthzName = 'main' | 'multi' | 'proxy' | 'tlsStrict' | 'tlsProxy' | 'attackforge' | 'ivanti' | 'contrast' | 'limited' | 'credits' | 'down' | 'expose' | 'jwtOnly' | 'ivantiHost'

export function makeAuthorizers(store: KeyStore): Record<AuthzName, Authorizer> {
  // One clock for every authorizer and the limiter; nothing here moves it.
  const clock = testClock(NOW)
  const base = { store, now: clock.now, touchIntervalMs: 0 }
  const loopbackProxy = ['127.0.0.1/32']
  return {
    main: createAuthorizer({ ...base, schemes: [schemes.apiKeyHeader(), schemes.bearer(), schemes.basic()] }),
    multi: createAuthorizer({
      ...base,
      schemes: [schemes.apiKeyHeader(), schemes.ssapi(), schemes.restApiKey(), schemes.contrast(), schemes.bearer(), schemes.basic()],
    }),
    proxy: createAuthorizer({ ...base, trustProxy: loopbackProxy }),
    tlsStrict: createAuthorizer({ ...base, requireTls: true }),
    tlsProxy: createAuthorizer({ ...base, requireTls: true, trustProxy: loopbackProxy }),
    attackforge: createAuthorizer({ ...base, schemes: [schemes.ssapi()], requireTls: true, explicitGrants: true, trustProxy: loopbackProxy }),
    ivanti: createAuthorizer({
      ...base,
      schemes: [schemes.restApiKey()],
      // Here the path names the tenant: /ivanti/<tenant>/...
      tenant: tenantFromPath({ segment: 1 }),
    }),
    // Ivanti's own way: the tenant is the host, <tenant>.example.test.
    ivantiHost: createAuthorizer({ ...base, schemes: [schemes.restApiKey()], tenant: tenantFromHost({ domain: 'example.test' }) }),
    contrast: createAuthorizer({ ...base, schemes: [schemes.contrast()] }),
    limited: createAuthorizer({ ...base, rateLimiter: tokenBucket({ capacity: 2, refillPerSecond: 1, now: clock.now }) }),
    // Each framework's servers get a ledger of their own, so each sees the trial key start full.
    credits: createAuthorizer({ ...base, credits: memoryLedger() }),
    down: createAuthorizer({ ...base, store: downStore(), schemes: [schemes.apiKeyHeader(), schemes.bearer()] }),
    expose: createAuthorizer({ ...base, exposeReasons: true }),
    jwtOnly: createAuthorizer({
      ...base,
      schemes: [schemes.jwt({ key: new Uint8Array(32).fill(7), algorithms: ['HS256'], issuer: 'https://idp.example.test/', audience: 'api' })],
    }),
  }
}

/** A route every framework defines the same way: `/<authz>/...`, guarded with `need`. */
export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'DELETE' | 'OPTIONS'
  /** Express/Hono path syntax; `:name` matches one segment. */
  readonly path: string
  readonly authz: AuthzName
  readonly need?: Need
}

export const ROUTES: readonly RouteSpec[] = [
  { method: 'GET', path: '/main/apps', authz: 'main', need: 'apps:read' },
  { method: 'GET', path: '/main/me', authz: 'main' },
  { method: 'OPTIONS', path: '/main/apps', authz: 'main', need: 'apps:read' },
  { method: 'POST', path: '/main/scans', authz: 'main', need: 'scans:manage' },
  { method: 'DELETE', path: '/main/global-blackouts/:id', authz: 'main', need: 'global-blackouts:manage' },
  { method: 'GET', path: '/multi/apps', authz: 'multi', need: 'apps:read' },
  { method: 'GET', path: '/proxy/vulnerabilities', authz: 'proxy', need: 'vulnerabilities:read' },
  { method: 'GET', path: '/tls-strict/apps', authz: 'tlsStrict', need: 'apps:read' },
  { method: 'GET', path: '/tls-proxy/apps', authz: 'tlsProxy', need: 'apps:read' },
  { method: 'GET', path: '/attackforge/projects', authz: 'attackforge', need: { operation: 'GetProjects' } },
  { method: 'POST', path: '/attackforge/projects', authz: 'attackforge', need: { permission: 'apps:manage', operation: 'CreateProject' } },
  { method: 'GET', path: '/ivanti/:tenant/apps', authz: 'ivanti', need: 'apps:read' },
  { method: 'GET', path: '/contrast/apps', authz: 'contrast', need: 'apps:read' },
  { method: 'GET', path: '/limited/apps', authz: 'limited', need: 'apps:read' },
  { method: 'GET', path: '/credits/scans', authz: 'credits', need: { permission: 'scans:read', cost: 2 } },
  { method: 'GET', path: '/down/apps', authz: 'down', need: 'apps:read' },
  { method: 'GET', path: '/expose/apps', authz: 'expose', need: 'apps:read' },
  { method: 'GET', path: '/jwt/apps', authz: 'jwtOnly', need: 'apps:read' },
  { method: 'GET', path: '/ivanti-host/apps', authz: 'ivantiHost', need: 'apps:read' },
]

/** What every route handler answers: the principal it saw, as JSON, with an exact content-type. */
export function handlerBody(principal: unknown): string {
  return JSON.stringify({ principal: principal ?? null })
}

/** A credit ledger in this process's memory, seeded from the record (the arithmetic of the stores). */
function memoryLedger(): CreditLedger {
  const balances = new Map<string, Balance>()
  return {
    async consume(keyId, credits, cost, at) {
      const b = balances.get(keyId) ?? { remaining: credits.remaining, refilledAt: credits.refilledAt }
      const { balance, result } = charged(b, credits.refill, cost, at)
      balances.set(keyId, balance)
      return result
    },
  }
}
