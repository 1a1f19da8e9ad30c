/**
 * Two scenes of `npm run demo`, on one plain `node:http` server on loopback with the in-memory
 * store (nothing but Node needed):
 * - a trial key with 3 credits: three calls are allowed (`X-Credits-Remaining` counts down), the
 *   fourth is 429 `credits_exhausted`;
 * - a leaked key: it works, a secret scanner reports it to the leak handler (the report signed
 *   with a P-256 key pair generated here, the handler given that fixed public key), and the same
 *   key is then refused with 401.
 */
import { generateKeyPairSync, sign } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import { createLeakHandler } from '../src/admin/index.js'
import { createAuthorizer, KeyManager, MemoryKeyStore, renderDeny } from '../src/index.js'
import { closeServer, listen } from './_shared.js'

/** One scripted request of a scene, in the shape of the demo's table. */
export interface SceneCase {
  readonly product: string
  readonly framework: string
  readonly method: string
  readonly url: string
  /** Path as shown (long ids shortened). */
  readonly shown: string
  readonly scheme: string
  /** What identifies the credential on screen: a key prefix, never the key. */
  readonly credential: string
  readonly headers: Readonly<Record<string, string>>
  /** Request body (the leak report). */
  readonly body?: string
  readonly expect: { readonly status: number; readonly code?: string }
  /** Scenes switch nothing around their requests. */
  readonly during?: undefined
}

const HOOK = '/hooks/secret-scanning'

async function bodyOf(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = []
  for await (const p of req) parts.push(p as Buffer)
  return Buffer.concat(parts).toString('utf8')
}

/** Starts the scenes' server; `cases` are to be sent in order. */
export async function startScenes(redact: (key: string) => string): Promise<{ cases: SceneCase[]; close(): Promise<void> }> {
  const store = new MemoryKeyStore()
  const manager = new KeyManager(store)
  const authorizer = createAuthorizer({ store })
  // The fake scanner's signing key; the handler trusts exactly its public key (a fixed key set).
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const leaks = createLeakHandler({
    manager,
    verify: { publicKeys: [{ key_identifier: 'demo-scanner', key: publicKey.export({ type: 'spki', format: 'pem' }) as string, is_current: true }] },
    onLeak: () => undefined,
  })
  const server = createServer((req, res) => {
    void (async () => {
      if (req.method === 'POST' && req.url === HOOK) {
        const headers = new Headers()
        for (const [k, v] of Object.entries(req.headersDistinct)) for (const x of v ?? []) headers.append(k, x)
        const answer = await leaks(new Request(`http://127.0.0.1${HOOK}`, { method: 'POST', headers, body: await bodyOf(req) }))
        res.writeHead(answer.status, Object.fromEntries(answer.headers))
        res.end(await answer.text())
        return
      }
      const d = await authorizer.authorize({ method: req.method ?? 'GET', url: req.url, headers: req.rawHeaders, remoteAddress: req.socket.remoteAddress }, { permission: 'scans:read', cost: 1 })
      if (d.allow) {
        res.writeHead(200, { 'content-type': 'application/json', ...d.headers })
        res.end(JSON.stringify({ scans: [], keyId: d.principal.keyId }))
        return
      }
      const r = renderDeny(d, { accept: req.headers.accept })
      res.writeHead(r.status, r.headers)
      res.end(r.body)
    })().catch(() => {
      res.writeHead(500)
      res.end()
    })
  })
  const url = await listen(server, {})
  const trial = (await manager.issue({ kind: 'user', owner: 'trial@example.test', role: 'Read Only', credits: { remaining: 3 }, description: 'Trial: 3 calls' })).key
  const leaked = (await manager.issue({ kind: 'user', owner: 'dev@example.test', role: 'Read Only', description: 'Committed to a public repo' })).key
  const report = JSON.stringify([{ token: leaked, type: 'keyward_api_key', url: 'https://github.com/example/app/blob/main/.env', source: 'content' }])
  const signature = sign('sha256', Buffer.from(report, 'utf8'), { key: privateKey, dsaEncoding: 'der' }).toString('base64')
  const get = (product: string, key: string, status: number, code?: string): SceneCase => ({
    product, framework: 'node:http', method: 'GET', url: `${url}/scans`, shown: '/scans', scheme: 'X-Api-Key', credential: redact(key),
    headers: { 'x-api-key': key }, expect: code === undefined ? { status } : { status, code },
  })
  const TRIAL = 'Trial key with 3 credits'
  const LEAK = 'Leaked key reported by a secret scanner'
  const cases: SceneCase[] = [
    get(TRIAL, trial, 200), get(TRIAL, trial, 200), get(TRIAL, trial, 200), get(TRIAL, trial, 429, 'credits_exhausted'),
    get(LEAK, leaked, 200),
    {
      product: LEAK, framework: 'node:http', method: 'POST', url: `${url}${HOOK}`, shown: HOOK, scheme: 'P-256 signed', credential: 'demo-scanner',
      headers: { 'content-type': 'application/json', 'github-public-key-identifier': 'demo-scanner', 'github-public-key-signature': signature },
      body: report, expect: { status: 200 },
    },
    get(LEAK, leaked, 401, 'invalid_credentials'),
  ]
  return { cases, close: () => closeServer(server) }
}
