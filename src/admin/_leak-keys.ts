/**
 * Where the leak handler gets the scanner's public keys: a fixed list (tests, air-gapped
 * setups), or the provider's published list fetched over HTTPS, cached, and refreshed when a
 * report names a key id the cache does not hold (the provider rotated its key), at most once per
 * cooldown so unsigned junk with made-up ids cannot turn the handler into a fetch amplifier.
 * @module
 */
import { importPem, keysOf, type LeakPublicKey } from './_leak-verify.js'

/** The handler's view of a key source. */
export interface KeySource {
  /** The key with this id; `undefined` when it is not published; `null` when no list could be had. */
  key(id: string): Promise<CryptoKey | undefined | null>
}

/** A fixed key list: imported on first use, never refreshed. */
export function fixedKeys(list: readonly LeakPublicKey[]): KeySource {
  let loaded: Promise<Map<string, CryptoKey>> | undefined
  const load = async (): Promise<Map<string, CryptoKey>> => {
    const keys = new Map<string, CryptoKey>()
    for (const { key_identifier: id, key } of list) {
      const k = await importPem(key)
      if (k !== undefined) keys.set(id, k)
    }
    return keys
  }
  return {
    async key(id) {
      loaded ??= load()
      return (await loaded).get(id)
    },
  }
}

/** Settings of {@link remoteKeys}, already validated. */
export interface RemoteSettings {
  readonly url: string
  readonly fetch: typeof globalThis.fetch
  readonly headers: Readonly<Record<string, string>>
  readonly ttlMs: number
  readonly cooldownMs: number
  readonly timeoutMs: number
  readonly now: () => number
}

const MAX_DOCUMENT_BYTES = 256 * 1024

async function download(s: RemoteSettings): Promise<Map<string, CryptoKey>> {
  const res = await s.fetch(s.url, { headers: { accept: 'application/json', ...s.headers }, signal: AbortSignal.timeout(s.timeoutMs) })
  if (!res.ok) throw new Error(`the key list answered ${res.status}`)
  const text = await res.text()
  if (text.length > MAX_DOCUMENT_BYTES) throw new Error('the key list is too large')
  return keysOf(JSON.parse(text) as unknown)
}

/**
 * The provider's published list: fetched on first use, again once `ttlMs` old (the old list
 * stays in use if that fails), and on an unknown key id; every fetch at least `cooldownMs`
 * after the previous attempt, failed or not. Concurrent callers share one fetch.
 */
export function remoteKeys(s: RemoteSettings): KeySource {
  let keys: Map<string, CryptoKey> | undefined
  let fetchedAt = -Infinity
  let attemptedAt = -Infinity
  let inflight: Promise<void> | undefined

  const refresh = (): Promise<void> => {
    inflight ??= (async () => {
      attemptedAt = s.now()
      try {
        keys = await download(s)
        fetchedAt = s.now()
      } catch {
        // Keep what we had; with nothing at all the caller answers 503 and the scanner retries.
      } finally {
        inflight = undefined
      }
    })()
    return inflight
  }

  return {
    async key(id) {
      if (inflight !== undefined) await inflight
      const now = s.now()
      const wanted = keys === undefined || now - fetchedAt >= s.ttlMs || !keys.has(id)
      if (wanted && now - attemptedAt >= s.cooldownMs) await refresh()
      return keys === undefined ? null : keys.get(id)
    },
  }
}
