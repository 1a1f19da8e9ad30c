/**
 * The leak handler's option checks and request flow (see `leak.ts` for the public contract).
 * Order of checks: method, signature headers, size, signature, then the report's shape, so an
 * unsigned or forged body is never parsed.
 * @module
 */
import { fieldsOf, func, integer, knownFields, millis, object } from '../lib/options.js'
import { rangeError, typeError } from '../errors.js'
import { type Acted, applyPolicy, liveKey, type LeakManager, type LeakPolicy } from './_leak-act.js'
import { jsonResponse, LeakProblem, parseReport, problemResponse, readBody, tokenHash, type ReportedToken } from './_leak-http.js'
import { fixedKeys, remoteKeys, type KeySource } from './_leak-keys.js'
import { KEY_ID_RE, type LeakPublicKey, verifySignature } from './_leak-verify.js'
import type { LeakAuditEvent, LeakHandler, LeakHandlerOptions, LeakNotice, LeakVerifyOptions } from './leak.js'

const GITHUB_KEYS_URL = 'https://api.github.com/meta/public_keys/secret_scanning'
const KEY_ID_HEADER = 'github-public-key-identifier'
const SIGNATURE_HEADER = 'github-public-key-signature'

const OPTION_FIELDS = fieldsOf<LeakHandlerOptions>({
  manager: true, verify: true, onLeak: true, policy: true, feedback: true, maxBodyBytes: true, maxTokens: true, onAudit: true, onError: true, now: true,
})
const VERIFY_FIELDS = fieldsOf<LeakVerifyOptions>({
  keysUrl: true, publicKeys: true, headers: true, cacheTtlMs: true, refreshCooldownMs: true, timeoutMs: true, fetch: true,
})
const MANAGER_METHODS = ['hashKey', 'get', 'deactivate', 'endGrace', 'update'] as const

function managerOf(value: unknown): LeakManager {
  const m = value as Record<string, unknown> | null
  if (m === null || typeof m !== 'object' || MANAGER_METHODS.some((k) => typeof m[k] !== 'function')) {
    throw typeError('manager', 'must be a KeyManager')
  }
  const store = m.store as { findByHash?: unknown } | null | undefined
  if (store === null || typeof store !== 'object' || typeof store.findByHash !== 'function') throw typeError('manager', 'must be a KeyManager')
  return value as LeakManager
}

function policyOf(value: unknown): LeakPolicy {
  if (value === undefined || value === 'deactivate') return 'deactivate'
  if (value === 'notify') return 'notify'
  if (typeof value === 'string') throw rangeError('policy', "must be 'deactivate', 'notify' or { expireInMs }")
  const o = object(value, 'policy', "must be 'deactivate', 'notify' or { expireInMs }")
  knownFields(o, ['expireInMs'], 'policy')
  if (o.expireInMs === undefined) throw typeError('policy.expireInMs', 'is required')
  return { expireInMs: millis(o.expireInMs, 'policy.expireInMs', 0, 1000, 365 * 24 * 3600_000) }
}

function keysUrlOf(value: unknown): string {
  if (value === undefined) return GITHUB_KEYS_URL
  if (typeof value !== 'string') throw typeError('verify.keysUrl', 'must be a URL string')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw rangeError('verify.keysUrl', 'must be an absolute URL')
  }
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]'
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw rangeError('verify.keysUrl', 'must be https (plain http only to a loopback host): the keys decide who may revoke keys')
  }
  return url.href
}

function publicKeysOf(value: unknown): readonly LeakPublicKey[] {
  if (!Array.isArray(value) || value.length === 0) throw typeError('verify.publicKeys', 'must be a non-empty array of { key_identifier, key }')
  return value.map((e: unknown, i) => {
    const o = object(e, `verify.publicKeys[${i}]`)
    knownFields(o, ['key_identifier', 'key', 'is_current'], `verify.publicKeys[${i}]`)
    if (typeof o.key_identifier !== 'string' || !KEY_ID_RE.test(o.key_identifier)) throw rangeError(`verify.publicKeys[${i}].key_identifier`, 'must be 1-256 URL-safe characters')
    if (typeof o.key !== 'string' || !o.key.includes('-----BEGIN PUBLIC KEY-----')) throw rangeError(`verify.publicKeys[${i}].key`, 'must be a PEM public key')
    return { key_identifier: o.key_identifier, key: o.key }
  })
}

function headersOf(value: unknown): Record<string, string> {
  if (value === undefined) return {}
  const o = object(value, 'verify.headers')
  for (const [k, v] of Object.entries(o)) {
    if (typeof v !== 'string') throw typeError(`verify.headers.${k}`, 'must be a string')
  }
  return { ...(o as Record<string, string>) }
}

function keySourceOf(value: unknown, now: () => number): KeySource {
  const v = object(value, 'verify', 'must be an object ({} for GitHub\'s published keys)')
  knownFields(v, VERIFY_FIELDS, 'verify')
  if (v.publicKeys !== undefined) {
    if (v.keysUrl !== undefined) throw rangeError('verify', 'give keysUrl or publicKeys, not both')
    return fixedKeys(publicKeysOf(v.publicKeys))
  }
  const fetchFn = func(v.fetch as typeof globalThis.fetch | undefined, 'verify.fetch') ?? globalThis.fetch
  if (typeof fetchFn !== 'function') throw typeError('verify.fetch', 'is required where there is no global fetch')
  return remoteKeys({
    url: keysUrlOf(v.keysUrl),
    fetch: fetchFn,
    headers: headersOf(v.headers),
    ttlMs: millis(v.cacheTtlMs, 'verify.cacheTtlMs', 3600_000, 1000),
    cooldownMs: millis(v.refreshCooldownMs, 'verify.refreshCooldownMs', 60_000, 0),
    timeoutMs: millis(v.timeoutMs, 'verify.timeoutMs', 5000, 1, 60_000),
    now,
  })
}

/** The signature-checked raw body of `request` (see the module doc for the order of checks). */
async function verifiedBody(request: Request, maxBodyBytes: number, keys: KeySource): Promise<Uint8Array> {
  const keyId = request.headers.get(KEY_ID_HEADER)
  const signature = request.headers.get(SIGNATURE_HEADER)
  if (keyId === null || signature === null || keyId === '' || signature === '') {
    throw new LeakProblem(401, 'missing_signature', 'The report must carry Github-Public-Key-Identifier and Github-Public-Key-Signature.')
  }
  const body = await readBody(request, maxBodyBytes)
  if (!KEY_ID_RE.test(keyId) || signature.length > 256) throw new LeakProblem(401, 'invalid_signature', 'The signature does not verify.')
  const key = await keys.key(keyId)
  if (key === null) throw new LeakProblem(503, 'keys_unavailable', 'The verification keys cannot be fetched; retry later.', { 'retry-after': '60' })
  if (key === undefined || !(await verifySignature(key, signature, body))) {
    throw new LeakProblem(401, 'invalid_signature', 'The signature does not verify.')
  }
  return body
}

/** The audit event and the notice of a key acted on. Neither holds the token or a hash. */
function eventsOf(t: ReportedToken, done: Acted, at: number): { event: LeakAuditEvent; notice: LeakNotice } {
  const r = done.record
  const where = { ...(t.url === undefined ? {} : { url: t.url }), ...(t.source === undefined ? {} : { source: t.source }) }
  const tenant = r.tenant === undefined ? {} : { tenant: r.tenant }
  return {
    event: { at, action: 'reportLeak', outcome: 'success', status: 200, target: r.id, code: 'key_leaked', leakAction: done.action, ...where, ...tenant },
    notice: {
      at, keyId: r.id, action: done.action, type: t.type, ...where, ...tenant,
      ...(r.owner === undefined ? {} : { owner: r.owner }),
      ...(r.group === undefined ? {} : { group: r.group }),
      ...(r.description === undefined ? {} : { description: r.description }),
      ...(done.expiresAt === undefined ? {} : { expiresAt: done.expiresAt }),
    },
  }
}

/** Validates the options and builds the handler. */
export function leakHandlerOf(options: LeakHandlerOptions): LeakHandler {
  const o = object(options, 'options')
  knownFields(o, OPTION_FIELDS, 'options')
  const manager = managerOf(o.manager)
  const onLeak = func(options.onLeak, 'onLeak')
  if (onLeak === undefined) throw typeError('onLeak', 'is required: the owner of a leaked key must be told')
  const policy = policyOf(o.policy)
  const feedback = o.feedback ?? 'token_hash'
  if (feedback !== 'token_hash' && feedback !== 'token_raw') throw rangeError('feedback', "must be 'token_hash' or 'token_raw'")
  const maxBodyBytes = integer(o.maxBodyBytes, 'maxBodyBytes', 1024 * 1024, 1024, 16 * 1024 * 1024)
  const maxTokens = integer(o.maxTokens, 'maxTokens', 1000, 1, 100_000)
  const onAudit = func(options.onAudit, 'onAudit')
  const onError = func(options.onError, 'onError')
  const now = func(options.now, 'now') ?? Date.now
  const keys = keySourceOf(o.verify, now)

  const reportError = (e: unknown): void => {
    try {
      onError?.(e)
    } catch {
      // Reporting must never turn into a crash.
    }
  }
  /** Runs a user callback: its exceptions and rejections go to `onError`, never to the scanner. */
  const safely = (fn: () => unknown): void => {
    try {
      const r = fn()
      if (r instanceof Promise) r.catch(reportError)
    } catch (e) {
      reportError(e)
    }
  }

  async function handle(t: ReportedToken, at: number): Promise<boolean> {
    const live = await liveKey(manager, t.token, at)
    if (live === undefined) return false
    const { event, notice } = eventsOf(t, await applyPolicy(manager, live, policy, at), at)
    if (onAudit) safely(() => onAudit(event))
    safely(() => onLeak!(notice))
    return true
  }

  return async function leakHandler(request: Request): Promise<Response> {
    if (request === null || typeof request !== 'object' || typeof request.method !== 'string' || !(request.headers instanceof Headers)) {
      throw typeError('request', 'must be a Fetch API Request')
    }
    const at = now()
    try {
      if (request.method !== 'POST') throw new LeakProblem(405, 'method_not_allowed', 'Only POST is accepted.', { allow: 'POST' })
      const entries = parseReport(await verifiedBody(request, maxBodyBytes, keys), maxTokens)
      const labels = new Map<string, boolean>()
      const out: Record<string, string>[] = []
      for (const t of entries) {
        let positive = labels.get(t.token)
        if (positive === undefined) labels.set(t.token, (positive = await handle(t, at)))
        out.push({ [feedback]: feedback === 'token_raw' ? t.token : tokenHash(t.token), token_type: t.type, label: positive ? 'true_positive' : 'false_positive' })
      }
      return jsonResponse(out)
    } catch (e) {
      const p = e instanceof LeakProblem ? e : new LeakProblem(503, 'service_unavailable', 'The report could not be processed; retry later.', { 'retry-after': '30' })
      if (!(e instanceof LeakProblem)) reportError(e)
      const outcome = p.status === 401 ? 'denied' : p.status >= 500 ? 'error' : 'invalid'
      if (onAudit) safely(() => onAudit({ at, action: 'receiveLeakReport', outcome, status: p.status, code: p.code }))
      return problemResponse(p)
    }
  }
}
