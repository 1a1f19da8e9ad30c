/**
 * Controllable stores and small builders for the resilience tests. Nothing here sleeps: stores
 * are paused with deferred promises, and the clock is the shared one (`../_support/clock.ts`).
 */
import { MemoryKeyStore } from '../../src/stores/memory.js'
import type { AuthRequest, KeyGroup, KeyRecord, ManagedKeyStore, OwnerRecord } from '../../src/types.js'

export interface Deferred<T> {
  readonly promise: Promise<T>
  resolve(value: T): void
  reject(error: unknown): void
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Lets every pending microtask (and promise chain of a few links) run. */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve()
}

export type LookupMode = 'ok' | 'reject' | 'throw' | 'hang'

/**
 * A `ManagedKeyStore` over a `MemoryKeyStore` that counts lookups and can be made to fail,
 * hang, or pause *after reading* (so a test can interleave a write between a lookup's read and
 * its completion, which is the revoke-during-refresh race).
 */
export class FakeStore implements ManagedKeyStore {
  readonly inner = new MemoryKeyStore()
  readonly calls = { findByHash: 0, findGroup: 0, findOwner: 0, touch: 0 }
  mode: LookupMode = 'ok'
  /** When set, each lookup reads the inner store first, then waits for this gate. */
  gate: Promise<void> | undefined
  /** Touch behaviour. */
  touchMode: LookupMode = 'ok'
  readonly touched: [string, number][] = []

  async #lookup<T>(read: () => Promise<T>): Promise<T> {
    if (this.mode === 'throw') throw new Error('store down (async throw)')
    if (this.mode === 'reject') return Promise.reject(new Error('store down'))
    if (this.mode === 'hang') return new Promise<T>(() => {})
    const value = await read()
    if (this.gate) await this.gate
    return value
  }

  findByHash(hash: string): Promise<KeyRecord | undefined> {
    this.calls.findByHash++
    return this.#lookup(() => this.inner.findByHash(hash))
  }
  findGroup(id: string): Promise<KeyGroup | undefined> {
    this.calls.findGroup++
    return this.#lookup(() => this.inner.findGroup(id))
  }
  findOwner(id: string): Promise<OwnerRecord | undefined> {
    this.calls.findOwner++
    return this.#lookup(() => this.inner.findOwner(id))
  }
  touch(id: string, at: number): Promise<void> {
    this.calls.touch++
    if (this.touchMode === 'throw') throw new Error('touch failed synchronously')
    if (this.touchMode === 'reject') return Promise.reject(new Error('touch failed'))
    if (this.touchMode === 'hang') return new Promise<void>(() => {})
    this.touched.push([id, at])
    return this.inner.touch(id, at)
  }
  getKey(id: string) {
    return this.inner.getKey(id)
  }
  insertKey(r: KeyRecord) {
    return this.inner.insertKey(r)
  }
  updateKey(r: KeyRecord, expected?: KeyRecord) {
    return this.inner.updateKey(r, expected)
  }
  deleteKey(id: string) {
    return this.inner.deleteKey(id)
  }
  listKeys() {
    return this.inner.listKeys()
  }
  getGroup(id: string) {
    return this.inner.getGroup(id)
  }
  insertGroup(g: KeyGroup) {
    return this.inner.insertGroup(g)
  }
  updateGroup(g: KeyGroup, expected?: KeyGroup) {
    return this.inner.updateGroup(g, expected)
  }
  deleteGroup(id: string) {
    return this.inner.deleteGroup(id)
  }
  listGroups() {
    return this.inner.listGroups()
  }
  putOwner(id: string, o: OwnerRecord) {
    return this.inner.putOwner(id, o)
  }
  deleteOwner(id: string) {
    return this.inner.deleteOwner(id)
  }
}

/** A request carrying `key` in X-Api-Key from an address. */
export function req(key: string, remoteAddress = '203.0.113.9'): AuthRequest {
  return { method: 'GET', url: '/scans?secret=1', headers: { 'x-api-key': key }, remoteAddress }
}

/** A record as a store would hold it, for unit tests that bypass KeyManager. */
export function record(id: string, hash: string, fields: Partial<KeyRecord> = {}): KeyRecord {
  return { id, hash, kind: 'user', owner: 'ana', role: 'Read Write', active: true, createdAt: 0, ...fields }
}
