/**
 * Shared set-up of the leak-handler tests: a scanner with its own P-256 key pairs that signs
 * reports the way GitHub does (ECDSA P-256/SHA-256 over the raw body, base64 DER).
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import type { LeakPublicKey } from '../../src/admin/index.js'

/** One signing key of the fake scanner. */
export interface ScannerKey {
  readonly id: string
  readonly privateKey: KeyObject
  readonly published: LeakPublicKey
}

/** A fresh P-256 key pair under `id`. */
export function scannerKey(id: string): ScannerKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { id, privateKey, published: { key_identifier: id, key: publicKey.export({ type: 'spki', format: 'pem' }) as string, is_current: true } }
}

/** base64 DER signature of `body`, as the scanner sends it. */
export function signBody(key: ScannerKey, body: string): string {
  return sign('sha256', Buffer.from(body, 'utf8'), { key: key.privateKey, dsaEncoding: 'der' }).toString('base64')
}

/** One reported match. */
export interface Match {
  token: string
  type?: string
  url?: string
  source?: string
}

/** The report body for `matches`. */
export function reportBody(matches: readonly Match[]): string {
  return JSON.stringify(matches.map((m) => ({ type: 'keyward_api_key', url: 'https://github.com/o/r/blob/abc/config.js', source: 'content', ...m })))
}

/** A signed POST of `body`: signed by `key` unless `signature`/`keyId` override. */
export function signedRequest(key: ScannerKey, body: string, over: { signature?: string | null; keyId?: string | null; headers?: Record<string, string> } = {}): Request {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...over.headers }
  const keyId = over.keyId === undefined ? key.id : over.keyId
  const signature = over.signature === undefined ? signBody(key, body) : over.signature
  if (keyId !== null) headers['github-public-key-identifier'] = keyId
  if (signature !== null) headers['github-public-key-signature'] = signature
  return new Request('https://api.example.com/hooks/secret-scanning', { method: 'POST', headers, body })
}

/** Feedback entry as the handler answers. */
export interface Feedback {
  token_hash?: string
  token_raw?: string
  token_type: string
  label: 'true_positive' | 'false_positive'
}
