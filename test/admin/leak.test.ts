/**
 * `createLeakHandler`: signature checks (forged, replayed with another body's signature, unknown
 * key id then published), refusal of unsigned, oversized and malformed reports, the feedback for
 * a mixture of live, revoked and foreign tokens, the policies, and that no answer, audit event,
 * notice or error ever holds a reported token.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createLeakHandler, type LeakAuditEvent, type LeakHandlerOptions, type LeakNotice } from '../../src/admin/index.js'
import { generateKey, KeyManager, MemoryKeyStore } from '../../src/index.js'
import { derToP1363 } from '../../src/admin/_leak-verify.js'
import { tokenHash } from '../../src/admin/_leak-http.js'
import { reportBody, scannerKey, signBody, signedRequest, type Feedback, type Match } from './_leak.js'

const SCANNER = scannerKey('scanner-1')
const PEPPER = 'p'.repeat(32)

function setup(over: Partial<LeakHandlerOptions> = {}) {
  const store = new MemoryKeyStore()
  const clock = { t: 1_000_000 }
  const manager = new KeyManager(store, { pepper: PEPPER, now: () => clock.t })
  const notices: LeakNotice[] = []
  const audits: LeakAuditEvent[] = []
  const errors: unknown[] = []
  const handler = createLeakHandler({
    manager,
    verify: { publicKeys: [SCANNER.published] },
    onLeak: (n) => void notices.push(n),
    onAudit: (e) => void audits.push(e),
    onError: (e) => void errors.push(e),
    now: () => clock.t,
    ...over,
  })
  return { store, manager, handler, notices, audits, errors, clock }
}

async function post(handler: (r: Request) => Promise<Response>, request: Request): Promise<{ status: number; text: string; body: unknown; headers: Headers }> {
  const res = await handler(request)
  const text = await res.text()
  return { status: res.status, text, body: text === '' ? undefined : (JSON.parse(text) as unknown), headers: res.headers }
}

/** Every token of the report must be absent from everything the handler said or recorded. */
function expectNoToken(tokens: readonly string[], ...outputs: unknown[]): void {
  const all = outputs.map((o) => (typeof o === 'string' ? o : JSON.stringify(o, (_k, v: unknown) => (v instanceof Error ? `${v.name}: ${v.message}` : v)))).join('\n')
  for (const t of tokens) expect(all).not.toContain(t)
}

describe('createLeakHandler: signatures', () => {
  it('answers a correctly signed report with feedback', async () => {
    const { handler, manager } = setup()
    const { key } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const r = await post(handler, signedRequest(SCANNER, reportBody([{ token: key }])))
    expect(r.status).toBe(200)
    expect(r.body).toEqual([{ token_hash: tokenHash(key), token_type: 'keyward_api_key', label: 'true_positive' }])
  })

  it('refuses a forged signature (another key pair under the published id) with 401 and acts on nothing', async () => {
    const { handler, manager, notices } = setup()
    const { key, record } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const forger = scannerKey(SCANNER.id)
    const r = await post(handler, signedRequest(forger, reportBody([{ token: key }])))
    expect(r.status).toBe(401)
    expect((r.body as { code: string }).code).toBe('invalid_signature')
    expect((await manager.get(record.id))?.active).toBe(true)
    expect(notices).toEqual([])
    expectNoToken([key], r.text)
  })

  it('refuses a body replayed with the signature of another body', async () => {
    const { handler, manager } = setup()
    const { key, record } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const harmless = reportBody([{ token: generateKey() }])
    const r = await post(handler, signedRequest(SCANNER, reportBody([{ token: key }]), { signature: signBody(SCANNER, harmless) }))
    expect(r.status).toBe(401)
    expect((await manager.get(record.id))?.active).toBe(true)
  })

  it.each([
    ['no headers at all', { signature: null, keyId: null }, 'missing_signature'],
    ['no signature', { signature: null }, 'missing_signature'],
    ['no key id', { keyId: null }, 'missing_signature'],
    ['an empty signature', { signature: '' }, 'missing_signature'],
    ['a signature that is not base64', { signature: '%%%not-base64%%%' }, 'invalid_signature'],
    ['a signature of garbage DER', { signature: Buffer.from('garbage that is not DER').toString('base64') }, 'invalid_signature'],
    ['a key id with control characters', { keyId: 'scanner-1\u0001' }, 'invalid_signature'],
    ['an unpublished key id', { keyId: 'scanner-2' }, 'invalid_signature'],
  ] as const)('refuses a report with %s with 401 and never parses it', async (_name, over, code) => {
    const { handler, manager, audits } = setup()
    const { key, record } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    let request: Request
    try {
      request = signedRequest(SCANNER, reportBody([{ token: key }]), over)
    } catch {
      // Headers refuses control characters itself; the handler cannot even receive them.
      return
    }
    const r = await post(handler, request)
    expect(r.status).toBe(401)
    expect((r.body as { code: string }).code).toBe(code)
    expect((await manager.get(record.id))?.active).toBe(true)
    expect(audits).toEqual([expect.objectContaining({ action: 'receiveLeakReport', outcome: 'denied', status: 401, code })])
    expectNoToken([key], r.text, audits)
  })

  it('accepts a report signed by a key published after start, once the list is refreshed (and not before the cooldown)', async () => {
    const newer = scannerKey('scanner-2')
    const published = { public_keys: [SCANNER.published] }
    let fetches = 0
    const server: Server = createServer((_req, res) => {
      fetches++
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(published))
    })
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
    try {
      const port = (server.address() as AddressInfo).port
      const { handler, manager, clock } = setup({ verify: { keysUrl: `http://127.0.0.1:${port}/keys`, refreshCooldownMs: 60_000 } })
      const { key, record } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
      // Unknown id: the first use fetches the list; it does not hold scanner-2.
      expect((await post(handler, signedRequest(newer, reportBody([{ token: key }])))).status).toBe(401)
      expect(fetches).toBe(1)
      published.public_keys.push(newer.published)
      // Within the cooldown, an unknown id does not make the handler fetch again.
      expect((await post(handler, signedRequest(newer, reportBody([{ token: key }])))).status).toBe(401)
      expect(fetches).toBe(1)
      clock.t += 60_000
      const r = await post(handler, signedRequest(newer, reportBody([{ token: key }])))
      expect(r.status).toBe(200)
      expect(fetches).toBe(2)
      expect((r.body as Feedback[])[0]!.label).toBe('true_positive')
      expect((await manager.get(record.id))?.active).toBe(false)
      // A known id does not refetch.
      expect((await post(handler, signedRequest(SCANNER, reportBody([{ token: generateKey() }])))).status).toBe(200)
      expect(fetches).toBe(2)
    } finally {
      await new Promise((ok) => server.close(ok))
    }
  })

  it('answers 503 keys_unavailable (the scanner retries) when the key list cannot be fetched', async () => {
    const { handler } = setup({ verify: { keysUrl: 'https://keys.example.test/k', fetch: async () => new Response('nope', { status: 500 }) } })
    const r = await post(handler, signedRequest(SCANNER, reportBody([{ token: generateKey() }])))
    expect(r.status).toBe(503)
    expect((r.body as { code: string }).code).toBe('keys_unavailable')
    expect(r.headers.get('retry-after')).toBe('60')
  })

  it('reads the DER signature strictly: minimal positive INTEGERs, nothing after the SEQUENCE', () => {
    const der = Buffer.from(signBody(SCANNER, 'x'), 'base64')
    expect(derToP1363(der)?.length).toBe(64)
    expect(derToP1363(Buffer.concat([der, Buffer.from([0])]))).toBeUndefined()
    const padded = Buffer.from([0x30, 0x08, 0x02, 0x02, 0x00, 0x01, 0x02, 0x02, 0x00, 0x01]) // non-minimal zeros
    expect(derToP1363(padded)).toBeUndefined()
    const negative = Buffer.from([0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01])
    expect(derToP1363(negative)).toBeUndefined()
  })
})

describe('createLeakHandler: refused reports', () => {
  it('refuses an oversized report with 413 before reading or verifying it', async () => {
    const { handler } = setup({ maxBodyBytes: 1024 })
    const body = reportBody(Array.from({ length: 40 }, () => ({ token: generateKey() })))
    expect(body.length).toBeGreaterThan(1024)
    const r = await post(handler, signedRequest(SCANNER, body))
    expect(r.status).toBe(413)
    expect((r.body as { code: string }).code).toBe('payload_too_large')
  })

  it('refuses a streamed oversized report (no content-length) with 413', async () => {
    const { handler } = setup({ maxBodyBytes: 1024 })
    const body = reportBody(Array.from({ length: 40 }, () => ({ token: generateKey() })))
    const stream = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(body)); c.close() } })
    const request = new Request('https://api.example.com/h', {
      method: 'POST', body: stream, duplex: 'half',
      headers: { 'content-type': 'application/json', 'github-public-key-identifier': SCANNER.id, 'github-public-key-signature': signBody(SCANNER, body) },
    } as RequestInit)
    expect((await post(handler, request)).status).toBe(413)
  })

  it('refuses more tokens than maxTokens with 413', async () => {
    const { handler } = setup({ maxTokens: 2 })
    const r = await post(handler, signedRequest(SCANNER, reportBody([{ token: generateKey() }, { token: generateKey() }, { token: generateKey() }])))
    expect(r.status).toBe(413)
  })

  const secret = generateKey()
  it.each([
    ['not JSON', 'not json', 400, 'invalid_json'],
    ['a JSON object', JSON.stringify({ token: secret, type: 't' }), 400, 'invalid_payload'],
    ['an entry without type', JSON.stringify([{ token: secret }]), 400, 'invalid_payload'],
    ['an entry with a numeric token', JSON.stringify([{ token: 42, type: 't' }]), 400, 'invalid_payload'],
    ['an entry with an object url', JSON.stringify([{ token: secret, type: 't', url: { secret } }]), 400, 'invalid_payload'],
    ['an entry that is null', JSON.stringify([null]), 400, 'invalid_payload'],
  ] as const)('refuses a signed report that is %s with %i %s, never echoing it', async (_name, body, status, code) => {
    const { handler, audits } = setup()
    const r = await post(handler, signedRequest(SCANNER, body))
    expect(r.status).toBe(status)
    expect((r.body as { code: string }).code).toBe(code)
    expectNoToken([secret], r.text, audits)
  })

  it('refuses another content type with 415 and another method with 405', async () => {
    const { handler } = setup()
    const body = reportBody([{ token: generateKey() }])
    expect((await post(handler, signedRequest(SCANNER, body, { headers: { 'content-type': 'text/plain' } }))).status).toBe(415)
    const get = await post(handler, new Request('https://api.example.com/h', { method: 'GET' }))
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
  })
})

describe('createLeakHandler: what it does to keys', () => {
  it('revokes only the live key in a mixture of live, revoked, expired, foreign and malformed tokens', async () => {
    const { handler, manager, notices, audits, errors, clock } = setup()
    const live = await manager.issue({ kind: 'user', owner: 'ana', tenant: 'acme', role: 'Read Only', description: 'CI' })
    const revoked = await manager.issue({ kind: 'user', owner: 'bob', role: 'Read Only' })
    await manager.deactivate(revoked.record.id)
    const expiring = await manager.issue({ kind: 'user', owner: 'cy', role: 'Read Only', expiresAt: clock.t + 1000 })
    const bystander = await manager.issue({ kind: 'user', owner: 'dee', role: 'Read Only' })
    clock.t += 2000
    const foreign = generateKey() // right shape and checksum, no such key
    const badChecksum = `${live.key.slice(0, -1)}${live.key.endsWith('A') ? 'B' : 'A'}`
    const matches: Match[] = [
      { token: live.key, url: 'https://github.com/o/r/blob/1/.env', source: 'commit' },
      { token: revoked.key }, { token: expiring.key }, { token: foreign }, { token: badChecksum }, { token: 'ghp_not_ours' },
      { token: live.key }, // a duplicate in one report answers the same
    ]
    const r = await post(handler, signedRequest(SCANNER, reportBody(matches)))
    expect(r.status).toBe(200)
    const labels = (r.body as Feedback[]).map((f) => f.label)
    expect(labels).toEqual(['true_positive', 'false_positive', 'false_positive', 'false_positive', 'false_positive', 'false_positive', 'true_positive'])
    expect((r.body as Feedback[]).map((f) => f.token_hash)).toEqual(matches.map((m) => tokenHash(m.token)))
    expect((await manager.get(live.record.id))?.active).toBe(false)
    expect((await manager.get(bystander.record.id))?.active).toBe(true)
    expect((await manager.get(expiring.record.id))?.active).toBe(true)
    await Promise.resolve()
    expect(notices).toEqual([{
      at: clock.t, keyId: live.record.id, tenant: 'acme', owner: 'ana', description: 'CI', action: 'deactivated', type: 'keyward_api_key',
      url: 'https://github.com/o/r/blob/1/.env', source: 'commit',
    }])
    expect(audits).toEqual([{
      at: clock.t, action: 'reportLeak', outcome: 'success', status: 200, target: live.record.id, tenant: 'acme', code: 'key_leaked',
      leakAction: 'deactivated', url: 'https://github.com/o/r/blob/1/.env', source: 'commit',
    }])
    expect(errors).toEqual([])
    expectNoToken(matches.map((m) => m.token), r.text, notices, audits)
  })

  it('echoes token_raw only when asked to', async () => {
    const { handler } = setup({ feedback: 'token_raw' })
    const foreign = generateKey()
    const r = await post(handler, signedRequest(SCANNER, reportBody([{ token: foreign }])))
    expect(r.body).toEqual([{ token_raw: foreign, token_type: 'keyward_api_key', label: 'false_positive' }])
  })

  it('shortens the expiry under { expireInMs }, never lengthening a sooner one', async () => {
    const { handler, manager, notices, clock } = setup({ policy: { expireInMs: 3_600_000 } })
    const open = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const soon = await manager.issue({ kind: 'user', owner: 'bob', role: 'Read Only', expiresAt: clock.t + 60_000 })
    const r = await post(handler, signedRequest(SCANNER, reportBody([{ token: open.key }, { token: soon.key }])))
    expect((r.body as Feedback[]).map((f) => f.label)).toEqual(['true_positive', 'true_positive'])
    expect((await manager.get(open.record.id))?.expiresAt).toBe(clock.t + 3_600_000)
    expect((await manager.get(open.record.id))?.active).toBe(true)
    expect((await manager.get(soon.record.id))?.expiresAt).toBe(clock.t + 60_000)
    expect(notices.map((n) => [n.action, n.expiresAt])).toEqual([['expiry_shortened', clock.t + 3_600_000], ['expiry_shortened', clock.t + 60_000]])
  })

  it('changes nothing under notify, but still tells the application', async () => {
    const { handler, manager, notices } = setup({ policy: 'notify' })
    const { key, record } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const r = await post(handler, signedRequest(SCANNER, reportBody([{ token: key }])))
    expect((r.body as Feedback[])[0]!.label).toBe('true_positive')
    expect((await manager.get(record.id))?.active).toBe(true)
    expect(notices.map((n) => n.action)).toEqual(['notified'])
  })

  it('ends the grace of a leaked previous secret and leaves the new secret working', async () => {
    const { handler, manager, notices, clock } = setup()
    const old = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    await manager.rotate(old.record.id, { graceMs: 3_600_000 })
    const r = await post(handler, signedRequest(SCANNER, reportBody([{ token: old.key }])))
    expect((r.body as Feedback[])[0]!.label).toBe('true_positive')
    const after = await manager.get(old.record.id)
    expect(after?.active).toBe(true)
    expect(after?.previousExpiresAt).toBe(clock.t)
    expect(notices.map((n) => n.action)).toEqual(['grace_ended'])
  })

  it('answers 503 when the store fails, reports the error without the token, and survives a throwing onLeak', async () => {
    const { handler, manager, errors, store } = setup({ onLeak: () => { throw new Error('mailer down') } })
    const { key } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const ok = await post(handler, signedRequest(SCANNER, reportBody([{ token: key }])))
    expect(ok.status).toBe(200)
    expect(errors.map((e) => (e as Error).message)).toEqual(['mailer down'])
    store.findByHash = async () => { throw new Error('connection reset') }
    const r = await post(handler, signedRequest(SCANNER, reportBody([{ token: generateKey() }])))
    expect(r.status).toBe(503)
    expect((r.body as { code: string }).code).toBe('service_unavailable')
    expectNoToken([key], r.text, errors)
  })
})

describe('createLeakHandler: options', () => {
  const manager = new KeyManager(new MemoryKeyStore())
  const base = { manager, verify: { publicKeys: [SCANNER.published] }, onLeak: () => undefined }
  it.each([
    ['an unknown field', { ...base, polcy: 'notify' }, /unknown field "polcy" \(did you mean "policy"\?\)/],
    ['an unknown verify field', { ...base, verify: { keysURL: 'https://x.test' } }, /verify: unknown field "keysURL"/],
    ['no onLeak', { ...base, onLeak: undefined }, /onLeak/],
    ['no verify', { ...base, verify: undefined }, /verify/],
    ['a manager that is not one', { ...base, manager: {} }, /manager/],
    ['an unknown policy', { ...base, policy: 'delete' }, /policy/],
    ['a policy object with a typo', { ...base, policy: { expireInMS: 1000 } }, /policy: unknown field/],
    ['a plain-http keys URL', { ...base, verify: { keysUrl: 'http://api.github.com/meta' } }, /verify.keysUrl/],
    ['both keysUrl and publicKeys', { ...base, verify: { keysUrl: 'https://x.test', publicKeys: [SCANNER.published] } }, /verify/],
    ['a public key that is not PEM', { ...base, verify: { publicKeys: [{ key_identifier: 'a', key: 'abc' }] } }, /publicKeys\[0\]\.key/],
    ['an unknown feedback', { ...base, feedback: 'token' }, /feedback/],
    ['a tiny body limit', { ...base, maxBodyBytes: 10 }, /maxBodyBytes/],
  ])('refuses %s at construction', (_name, options, message) => {
    expect(() => createLeakHandler(options as unknown as LeakHandlerOptions)).toThrow(message)
  })
})
