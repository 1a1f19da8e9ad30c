/**
 * The invalidation bus's wire format: `{"v":1,"type":…,"id":…,"hashes":[…]}` as JSON, plus two
 * optional fields:
 * - `beat`: a heartbeat (`<bus nonce>.<sequence>`), which a bus publishes to itself through the
 *   channel to prove that messages flow. It is shaped as a change of the key id
 *   `keyward:heartbeat`, so that a version that does not know heartbeats drops a cache entry that
 *   does not exist instead of treating it as unreadable (which clears caches);
 * - `mac`: with a shared secret, HMAC-SHA-256 (RFC 2104) of the message without `mac`, in base64url
 *   (RFC 4648 §5), over the canonical encoding below, so that the field order of the sender's
 *   JSON does not matter.
 * Decoding never throws and allocates no Error: a malformed message must be cheap.
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { StoreChange } from '../types.js'

const TYPES: ReadonlySet<string> = new Set(['key', 'group', 'owner'])
const MAX_MESSAGE = 65_536
const MAX_HASHES = 64
/** The key id heartbeats carry (see the module comment). */
export const BEAT_ID = 'keyward:heartbeat'

/** A message read off the wire. */
export type WireMessage = { kind: 'change'; change: StoreChange } | { kind: 'beat'; beat: string }

/** The canonical encoding, which the MAC covers. */
function canonical(type: string, id: string, hashes: readonly string[] | undefined, beat: string | undefined): string {
  const o: Record<string, unknown> = { v: 1, type, id }
  if (hashes !== undefined) o.hashes = hashes
  if (beat !== undefined) o.beat = beat
  return JSON.stringify(o)
}

function mac(secret: Uint8Array, text: string): string {
  return createHmac('sha256', secret).update(text).digest('base64url')
}

/** Adds the MAC (when there is a secret) to a canonical encoding. */
function seal(text: string, secret: Uint8Array | undefined): string {
  return secret === undefined ? text : `${text.slice(0, -1)},"mac":"${mac(secret, text)}"}`
}

/** The wire form of a change. */
export function encodeChange(change: StoreChange, withHashes: boolean, secret: Uint8Array | undefined): string {
  const hashes = change.type === 'key' && withHashes ? change.hashes : undefined
  return seal(canonical(change.type, change.id, hashes, undefined), secret)
}

/** The wire form of a heartbeat. */
export function encodeBeat(beat: string, secret: Uint8Array | undefined): string {
  return seal(canonical('key', BEAT_ID, undefined, beat), secret)
}

/** Constant-time comparison of two base64url MACs (RFC 2104 §5: never compare MACs byte by byte with an early exit). */
function sameMac(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** A message this version understands (and, with a secret, whose MAC is right), or `undefined`. */
export function decode(text: string, secret: Uint8Array | undefined): WireMessage | undefined {
  if (typeof text !== 'string' || text.length > MAX_MESSAGE || text.charCodeAt(0) !== 0x7b) return undefined
  let m: unknown
  try {
    m = JSON.parse(text)
  } catch {
    return undefined
  }
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return undefined
  const o = m as Record<string, unknown>
  if (o.v !== 1 || typeof o.type !== 'string' || !TYPES.has(o.type) || typeof o.id !== 'string' || o.id.length === 0 || o.id.length > 1024) return undefined
  const beat = o.beat
  if (beat !== undefined && (typeof beat !== 'string' || beat.length > 100 || o.type !== 'key' || o.id !== BEAT_ID)) return undefined
  const hashes = o.hashes
  if (hashes !== undefined && (o.type !== 'key' || !Array.isArray(hashes) || hashes.length > MAX_HASHES || !hashes.every((h) => typeof h === 'string' && h.length <= 1024))) {
    return undefined
  }
  if (secret !== undefined) {
    if (typeof o.mac !== 'string' || !sameMac(o.mac, mac(secret, canonical(o.type, o.id, hashes as string[] | undefined, beat)))) return undefined
  } else if (o.mac !== undefined && typeof o.mac !== 'string') {
    return undefined
  }
  if (beat !== undefined) return { kind: 'beat', beat }
  if (o.type !== 'key') return { kind: 'change', change: { type: o.type as 'group' | 'owner', id: o.id } }
  return { kind: 'change', change: { type: 'key', id: o.id, hashes: (hashes as string[] | undefined) ?? [] } }
}
