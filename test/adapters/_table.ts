/**
 * The shared request table: every row is sent, in this order, to every framework's server.
 * Each row states the outcome the core must reach, so the test fails if all frameworks agree on a
 * wrong answer, not only if they disagree.
 */
import type { DenyCode } from '../../src/index.js'
import type { Fixture } from './_fixture.js'
import type { Req } from './_http.js'

export interface Expect {
  readonly status: number
  /** Deny code in the problem body; absent on allows and on Node's own parser errors. */
  readonly code?: DenyCode
  /** On allow: the fixture label of the key whose principal the handler must see (null: none). */
  readonly key?: string | null
  /** On allow: the scheme the principal reports. */
  readonly scheme?: string
  /** Expected `ratelimit-remaining`, where the row is about rate limits. */
  readonly remaining?: string
  /** Expected `x-credits-remaining`, where the row is about credits. */
  readonly credits?: string
  /** Expected `Retry-After`, exactly, where the row says. */
  readonly retryAfter?: string
  /** Expected `WWW-Authenticate`, exactly, where the row is about the challenge. */
  readonly challenge?: string
  /** The deny body is `application/problem+xml` (the client prefers XML). */
  readonly xml?: true
}

export interface Row extends Req {
  readonly name: string
  readonly expect: Expect
}

const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64')

export function table(f: Fixture): readonly Row[] {
  const k = f.keys as Record<string, string>
  const apiKey = (key: string) => [['X-Api-Key', key]] as const
  const xff = (ip: string) => ['X-Forwarded-For', ip] as const
  const https = ['X-Forwarded-Proto', 'https'] as const
  const contrast = (user: string, key: string, basicWord = false) =>
    [
      ['API-Key', k.contrastOrg!],
      ['Authorization', `${basicWord ? 'Basic ' : ''}${b64(`${user}:${key}`)}`],
    ] as const
  return [
    // ---- Rapid7 InsightAppSec-style routes, every key-in-header scheme -------------------------
    { name: 'allows X-Api-Key', method: 'GET', path: '/main/apps', headers: apiKey(k.rw!), expect: { status: 200, key: 'rw', scheme: 'api-key' } },
    { name: 'allows Bearer', method: 'POST', path: '/main/scans', headers: [['Authorization', `Bearer ${k.rw}`]], expect: { status: 200, key: 'rw', scheme: 'bearer' } },
    { name: 'allows Basic with the key as user', method: 'GET', path: '/main/apps', headers: [['Authorization', `Basic ${b64(`${k.rw}:`)}`]], expect: { status: 200, key: 'rw', scheme: 'basic' } },
    { name: 'allows Basic with the key as password', method: 'GET', path: '/main/apps', headers: [['Authorization', `basic ${b64(`api:${k.ro}`)}`]], expect: { status: 200, key: 'ro', scheme: 'basic' } },
    { name: 'allows any valid key on a route that names no permission', method: 'GET', path: '/main/me', headers: apiKey(k.ro!), expect: { status: 200, key: 'ro', scheme: 'api-key' } },
    { name: 'still requires a key on a route that names no permission', method: 'GET', path: '/main/me', expect: { status: 401, code: 'missing_credentials' } },
    { name: 'allows an Org key everything', method: 'DELETE', path: '/main/global-blackouts/7', headers: apiKey(k.org!), expect: { status: 200, key: 'org', scheme: 'api-key' } },
    { name: 'denies Read Write a Product Admin permission', method: 'DELETE', path: '/main/global-blackouts/7', headers: apiKey(k.rw!), expect: { status: 403, code: 'insufficient_permission' } },
    { name: 'denies Read Only a write, with a Bearer insufficient_scope challenge', method: 'POST', path: '/main/scans', headers: [['Authorization', `Bearer ${k.ro}`]], expect: { status: 403, code: 'insufficient_permission' } },
    // ---- 401 ------------------------------------------------------------------------------------
    { name: 'asks for credentials when none are sent', method: 'GET', path: '/main/apps', expect: { status: 401, code: 'missing_credentials' } },
    { name: 'refuses an unknown key', method: 'GET', path: '/main/apps', headers: apiKey(k.unknown!), expect: { status: 401, code: 'invalid_credentials' } },
    { name: 'refuses a key with a bad checksum', method: 'GET', path: '/main/apps', headers: apiKey(k.badChecksum!), expect: { status: 401, code: 'invalid_credentials' } },
    { name: 'refuses an unknown key of another shape', method: 'GET', path: '/main/apps', headers: [['Authorization', 'Bearer not-a-real-key-123']], expect: { status: 401, code: 'invalid_credentials' } },
    { name: 'refuses a disabled key generically', method: 'GET', path: '/main/apps', headers: apiKey(k.disabled!), expect: { status: 401, code: 'invalid_credentials' } },
    { name: 'refuses an expired key generically', method: 'GET', path: '/main/apps', headers: apiKey(k.expiring!), expect: { status: 401, code: 'invalid_credentials' } },
    { name: 'refuses a rotated-out key', method: 'GET', path: '/main/apps', headers: apiKey(k.rotated!), expect: { status: 401, code: 'invalid_credentials' } },
    { name: 'tells a disabled key so under exposeReasons', method: 'GET', path: '/expose/apps', headers: apiKey(k.disabled!), expect: { status: 401, code: 'key_disabled' } },
    { name: 'refuses empty Basic credentials (Basic Og==) as invalid, not malformed', method: 'GET', path: '/main/apps', headers: [['Authorization', 'Basic Og==']], expect: { status: 401, code: 'invalid_credentials' } },
    { name: "refuses RFC 7617's Aladdin:open sesame as invalid, not malformed", method: 'GET', path: '/main/apps', headers: [['Authorization', 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==']], expect: { status: 401, code: 'invalid_credentials' } },
    { name: 'refuses a UTF-8 Basic password as invalid, not malformed', method: 'GET', path: '/main/apps', headers: [['Authorization', `Basic ${Buffer.from('api:pässwörd', 'utf8').toString('base64')}`]], expect: { status: 401, code: 'invalid_credentials' } },
    { name: 'refuses a bearer token that is not a JWT with invalid_token where only jwt is configured', method: 'GET', path: '/jwt/apps', headers: [['Authorization', 'Bearer not-a-jwt']], expect: { status: 401, code: 'invalid_credentials', challenge: 'Bearer realm="api", error="invalid_token"' } },
    { name: 'asks a jwt-only route for credentials when none are sent', method: 'GET', path: '/jwt/apps', expect: { status: 401, code: 'missing_credentials', challenge: 'Bearer realm="api"' } },
    { name: 'tells an expired key so under exposeReasons', method: 'GET', path: '/expose/apps', headers: apiKey(k.expiring!), expect: { status: 401, code: 'key_expired' } },
    // ---- 400: bad bytes, duplicates, conflicts --------------------------------------------------
    { name: 'rejects a key with a space inside', method: 'GET', path: '/main/apps', headers: apiKey(`${k.rw!.slice(0, 10)} ${k.rw!.slice(10)}`), expect: { status: 400, code: 'invalid_request' } },
    { name: 'rejects a key over 512 characters', method: 'GET', path: '/main/apps', headers: apiKey('k'.repeat(600)), expect: { status: 400, code: 'invalid_request' } },
    { name: 'rejects Basic credentials with a control character', method: 'GET', path: '/main/apps', headers: [['Authorization', `Basic ${b64('api:a\u0001b')}`]], expect: { status: 400, code: 'invalid_request' } },
    { name: 'rejects Bearer that breaks RFC 6750 grammar', method: 'GET', path: '/main/apps', headers: [['Authorization', 'Bearer a b']], expect: { status: 400, code: 'invalid_request' } },
    { name: 'rejects a non-ASCII byte (0xFF) in the key', method: 'GET', path: '/main/apps', headers: apiKey(`${k.rw}\u00ff`), via: 'http', expect: { status: 400, code: 'invalid_request' } },
    { name: 'rejects a DEL byte in the key', method: 'GET', path: '/main/apps', headers: apiKey(`${k.rw}\u007f`), via: 'socket', expect: { status: 400 } },
    { name: 'never lets a control byte reach the app (Node refuses it first)', method: 'GET', path: '/main/apps', headers: apiKey(`${k.rw}\u0001`), via: 'socket', expect: { status: 400 } },
    { name: 'rejects a repeated X-Api-Key', method: 'GET', path: '/main/apps', headers: [...apiKey(k.rw!), ...apiKey(k.rw!)], expect: { status: 400, code: 'invalid_request' } },
    { name: 'rejects a repeated Authorization', method: 'GET', path: '/main/apps', headers: [['Authorization', `Bearer ${k.rw}`], ['Authorization', `Bearer ${k.ro}`]], expect: { status: 400, code: 'invalid_request' } },
    { name: 'rejects Basic and Bearer in two Authorization fields', method: 'GET', path: '/main/apps', headers: [['Authorization', `Basic ${b64(`${k.rw}:`)}`], ['Authorization', `Bearer ${k.rw}`]], expect: { status: 400, code: 'invalid_request' } },
    { name: 'rejects two schemes at once', method: 'GET', path: '/main/apps', headers: [...apiKey(k.rw!), ['Authorization', `Bearer ${k.rw}`]], expect: { status: 400, code: 'invalid_request' } },
    { name: 'rejects X-Api-Key with X-SSAPI-KEY', method: 'GET', path: '/multi/apps', headers: [...apiKey(k.rw!), ['X-SSAPI-KEY', k.ssapi!]], expect: { status: 400, code: 'invalid_request' } },
    { name: 'refuses a repeated Authorization even where half a Contrast pair could be read', method: 'GET', path: '/multi/apps', headers: [['Authorization', `Bearer ${k.rw}`], ['Authorization', `Bearer ${k.rw}`]], expect: { status: 400, code: 'invalid_request' } },
    { name: 'reads a Contrast pair as Contrast, not as Basic', method: 'GET', path: '/multi/apps', headers: contrast('ana@acme.test', k.contrastAna!, true), expect: { status: 200, key: 'contrastAna', scheme: 'contrast' } },
    // ---- content negotiation of the problem body ------------------------------------------------
    { name: 'answers problem+xml to a client that prefers XML', method: 'GET', path: '/main/apps', headers: [...apiKey(k.unknown!), ['Accept', 'application/xml']], expect: { status: 401, code: 'invalid_credentials', xml: true } },
    { name: 'answers a Contrast client that sends Accept: application/xml in XML', method: 'GET', path: '/contrast/apps', headers: [...contrast('bob@acme.test', k.contrastAna!), ['Accept', 'application/xml']], expect: { status: 401, code: 'invalid_credentials', xml: true } },
    { name: 'escapes the permission named in an XML 403', method: 'POST', path: '/main/scans', headers: [...apiKey(k.ro!), ['Accept', 'text/xml, */*;q=0.1']], expect: { status: 403, code: 'insufficient_permission', xml: true } },
    { name: 'answers XML to a 400 too', method: 'GET', path: '/main/apps', headers: [...apiKey('a b'), ['Accept', 'application/problem+xml']], expect: { status: 400, code: 'invalid_request', xml: true } },
    { name: 'keeps JSON when the client weighs JSON higher', method: 'GET', path: '/main/apps', headers: [...apiKey(k.unknown!), ['Accept', 'application/xml;q=0.5, application/json']], expect: { status: 401, code: 'invalid_credentials' } },
    { name: 'keeps JSON for Accept: */*', method: 'GET', path: '/main/apps', headers: [...apiKey(k.unknown!), ['Accept', '*/*']], expect: { status: 401, code: 'invalid_credentials' } },
    // ---- addresses and proxies ------------------------------------------------------------------
    { name: 'denies a key outside its allowlist', method: 'GET', path: '/main/apps', headers: apiKey(k.lan!), expect: { status: 403, code: 'ip_not_allowed' } },
    { name: 'ignores X-Forwarded-For from an untrusted peer', method: 'GET', path: '/main/apps', headers: [...apiKey(k.lan!), xff('10.1.2.3')], expect: { status: 403, code: 'ip_not_allowed' } },
    { name: 'believes X-Forwarded-For from a trusted proxy', method: 'GET', path: '/proxy/vulnerabilities', headers: [...apiKey(k.lan!), xff('10.1.2.3')], expect: { status: 200, key: 'lan', scheme: 'api-key' } },
    { name: 'allows a key from its allowed socket address', method: 'GET', path: '/main/apps', headers: apiKey(k.local!), expect: { status: 200, key: 'local', scheme: 'api-key' } },
    { name: 'judges the forwarded client, not the proxy', method: 'GET', path: '/proxy/vulnerabilities', headers: [...apiKey(k.local!), xff('10.1.2.3')], expect: { status: 403, code: 'ip_not_allowed' } },
    { name: 'reads repeated X-Forwarded-For fields as one list', method: 'GET', path: '/proxy/vulnerabilities', headers: [...apiKey(k.lan!), xff('192.0.2.1'), xff('10.1.2.3')], expect: { status: 200, key: 'lan', scheme: 'api-key' } },
    // ---- transport ------------------------------------------------------------------------------
    { name: 'refuses plain HTTP under requireTls', method: 'GET', path: '/tls-strict/apps', headers: apiKey(k.rw!), expect: { status: 403, code: 'insecure_transport' } },
    { name: 'ignores X-Forwarded-Proto from an untrusted peer', method: 'GET', path: '/tls-strict/apps', headers: [...apiKey(k.rw!), https], expect: { status: 403, code: 'insecure_transport' } },
    { name: 'believes X-Forwarded-Proto from a trusted proxy', method: 'GET', path: '/tls-proxy/apps', headers: [...apiKey(k.rw!), https], expect: { status: 200, key: 'rw', scheme: 'api-key' } },
    // ---- AttackForge: X-SSAPI-KEY, explicit grants, HTTPS only ----------------------------------
    { name: 'allows a granted SSAPI method', method: 'GET', path: '/attackforge/projects', headers: [['X-SSAPI-KEY', k.ssapi!], https], expect: { status: 200, key: 'ssapi', scheme: 'ssapi' } },
    { name: 'denies an SSAPI method not granted, even to a Product Admin', method: 'POST', path: '/attackforge/projects', headers: [['X-SSAPI-KEY', k.ssapi!], https], expect: { status: 403, code: 'operation_not_granted' } },
    { name: 'refuses SSAPI over plain HTTP', method: 'GET', path: '/attackforge/projects', headers: [['X-SSAPI-KEY', k.ssapi!]], expect: { status: 403, code: 'insecure_transport' } },
    // ---- Ivanti: rest_api_key=, tenants, key groups, allowlists --------------------------------
    { name: 'allows a rest_api_key in its tenant', method: 'GET', path: '/ivanti/acme/apps', headers: [['Authorization', `rest_api_key=${k.ivanti}`]], expect: { status: 200, key: 'ivanti', scheme: 'rest-api-key' } },
    { name: 'reads the rest_api_key word case-insensitively', method: 'GET', path: '/ivanti/acme/apps?x=1', headers: [['Authorization', `REST_API_KEY=${k.ivanti}`]], expect: { status: 200, key: 'ivanti', scheme: 'rest-api-key' } },
    { name: 'refuses a key of another tenant like an unknown one', method: 'GET', path: '/ivanti/acme/apps', headers: [['Authorization', `rest_api_key=${k.ivantiGlobex}`]], expect: { status: 401, code: 'invalid_credentials' } },
    { name: 'denies a rest_api_key outside its allowed IPs', method: 'GET', path: '/ivanti/acme/apps', headers: [['Authorization', `rest_api_key=${k.ivantiFar}`]], expect: { status: 403, code: 'ip_not_allowed' } },
    { name: 'rejects a quoted rest_api_key', method: 'GET', path: '/ivanti/acme/apps', headers: [['Authorization', `rest_api_key="${k.ivanti}"`]], expect: { status: 400, code: 'invalid_request' } },
    { name: 'rejects an empty rest_api_key', method: 'GET', path: '/ivanti/acme/apps', headers: [['Authorization', 'rest_api_key=']], expect: { status: 400, code: 'invalid_request' } },
    { name: 'allows a rest_api_key on its tenant host', method: 'GET', path: '/ivanti-host/apps', headers: [['Host', 'acme.example.test'], ['Authorization', `rest_api_key=${k.ivanti}`]], expect: { status: 200, key: 'ivanti', scheme: 'rest-api-key' } },
    { name: 'reads the tenant host case-insensitively, with a port and a trailing dot', method: 'GET', path: '/ivanti-host/apps', headers: [['hOsT', 'ACME.Example.TEST.:8443'], ['Authorization', `rest_api_key=${k.ivanti}`]], expect: { status: 200, key: 'ivanti', scheme: 'rest-api-key' } },
    { name: 'refuses a key on another tenant host like an unknown one', method: 'GET', path: '/ivanti-host/apps', headers: [['Host', 'globex.example.test'], ['Authorization', `rest_api_key=${k.ivanti}`]], expect: { status: 401, code: 'invalid_credentials' } },
    { name: 'refuses a key of another tenant on this tenant host', method: 'GET', path: '/ivanti-host/apps', headers: [['Host', 'acme.example.test'], ['Authorization', `rest_api_key=${k.ivantiGlobex}`]], expect: { status: 401, code: 'invalid_credentials' } },
    { name: 'refuses a host that names no tenant', method: 'GET', path: '/ivanti-host/apps', headers: [['Host', '127.0.0.1'], ['Authorization', `rest_api_key=${k.ivanti}`]], expect: { status: 401, code: 'invalid_credentials' } },
    { name: 'refuses a host two labels below the tenant domain', method: 'GET', path: '/ivanti-host/apps', headers: [['Host', 'x.acme.example.test'], ['Authorization', `rest_api_key=${k.ivanti}`]], expect: { status: 401, code: 'invalid_credentials' } },
    // ---- Contrast: API-Key + Authorization ------------------------------------------------------
    { name: 'allows a Contrast pair without the Basic word', method: 'GET', path: '/contrast/apps', headers: contrast('ana@acme.test', k.contrastAna!), expect: { status: 200, key: 'contrastAna', scheme: 'contrast' } },
    { name: 'allows a Contrast pair with the Basic word', method: 'GET', path: '/contrast/apps', headers: contrast('ana@acme.test', k.contrastAna!, true), expect: { status: 200, key: 'contrastAna', scheme: 'contrast' } },
    { name: "refuses another user's service key", method: 'GET', path: '/contrast/apps', headers: contrast('bob@acme.test', k.contrastAna!), expect: { status: 401, code: 'invalid_credentials' } },
    { name: 'refuses a locked user', method: 'GET', path: '/contrast/apps', headers: contrast('lee@acme.test', k.contrastLee!), expect: { status: 401, code: 'invalid_credentials' } },
    { name: 'asks for both Contrast headers when one is missing', method: 'GET', path: '/contrast/apps', headers: [['API-Key', k.contrastOrg!]], expect: { status: 401, code: 'missing_credentials' } },
    // ---- 429 and 503 ----------------------------------------------------------------------------
    { name: 'allows the first request of a burst of 2', method: 'GET', path: '/limited/apps', headers: apiKey(k.limited!), expect: { status: 200, key: 'limited', scheme: 'api-key', remaining: '1' } },
    { name: 'allows the second request of a burst of 2', method: 'GET', path: '/limited/apps', headers: apiKey(k.limited!), expect: { status: 200, key: 'limited', scheme: 'api-key', remaining: '0' } },
    { name: 'charges a usage-limited key the route\'s cost and shows the balance', method: 'GET', path: '/credits/scans', headers: apiKey(k.trial!), expect: { status: 200, key: 'trial', scheme: 'api-key', credits: '1' } },
    { name: 'refuses a key with too few credits with 429 credits_exhausted until the refill', method: 'GET', path: '/credits/scans', headers: apiKey(k.trial!), expect: { status: 429, code: 'credits_exhausted', credits: '1', retryAfter: '86340' } },
    { name: 'rate-limits the third request', method: 'GET', path: '/limited/apps', headers: apiKey(k.limited!), expect: { status: 429, code: 'rate_limited', remaining: '0' } },
    { name: 'fails closed with 503 when the store is down', method: 'GET', path: '/down/apps', headers: apiKey(k.rw!), expect: { status: 503, code: 'service_unavailable' } },
    { name: 'fails closed with 503 for a Bearer key too', method: 'GET', path: '/down/apps', headers: [['Authorization', `Bearer ${k.rw}`]], expect: { status: 503, code: 'service_unavailable' } },
    // ---- CORS preflight -------------------------------------------------------------------------
    { name: 'passes a CORS preflight through without a principal', method: 'OPTIONS', path: '/main/apps', headers: [['Origin', 'https://app.example'], ['Access-Control-Request-Method', 'GET']], expect: { status: 200, key: null } },
    { name: 'authorizes an OPTIONS that is not a preflight', method: 'OPTIONS', path: '/main/apps', headers: [['Origin', 'https://app.example']], expect: { status: 401, code: 'missing_credentials' } },
  ]
}
