/**
 * A store whose lookups answer only when the test releases them, one call at a time, for the
 * revoke-race tests. Each lookup reads the data first and answers later, which is what a database
 * round trip does: the answer is the state as it was when the call began. Writes and management
 * reads go straight through.
 */
import { MemoryKeyStore } from '../../src/stores/memory.js'
import type { KeyGroup, KeyRecord, KeyRevoke, ManagedKeyStore, OwnerRecord } from '../../src/types.js'
import { deferred, settle } from './_helpers.js'

export type LookupKind = 'key' | 'group' | 'owner'

export interface PendingLookup {
  readonly kind: LookupKind
  readonly name: string
  release(): void
}

export class SlowStore implements ManagedKeyStore {
  readonly inner = new MemoryKeyStore()
  /** Lookups of these kinds wait to be released; the others answer at once. */
  slow: ReadonlySet<LookupKind> = new Set(['key', 'group', 'owner'])
  /** Lookups waiting to be released, oldest first. */
  readonly pending: PendingLookup[] = []
  readonly calls: Record<LookupKind, number> = { key: 0, group: 0, owner: 0 }

  async #lookup<T>(kind: LookupKind, name: string, read: () => Promise<T>): Promise<T> {
    this.calls[kind]++
    const value = await read()
    if (!this.slow.has(kind)) return value
    const gate = deferred()
    this.pending.push({ kind, name, release: () => gate.resolve() })
    await gate.promise
    return value
  }

  /** Whether a lookup of `kind` is waiting. */
  waiting(kind: LookupKind): boolean {
    return this.pending.some((p) => p.kind === kind)
  }

  /** Releases the waiting lookup at `index` (modulo the count); `false` when none waits. */
  releaseAt(index: number): boolean {
    if (this.pending.length === 0) return false
    const [p] = this.pending.splice(index % this.pending.length, 1)
    p!.release()
    return true
  }

  /** Releases waiting lookups, oldest first, until every promise of `work` has settled. */
  async drain(work: readonly Promise<unknown>[]): Promise<void> {
    let done = 0
    for (const w of work) void w.then(() => done++, () => done++)
    for (let round = 0; done < work.length; round++) {
      if (round > 10_000) throw new Error('requests still pending with nothing left to release')
      await settle()
      if (done < work.length) this.releaseAt(0)
    }
  }

  findByHash(hash: string): Promise<KeyRecord | undefined> {
    return this.#lookup('key', hash, () => this.inner.findByHash(hash))
  }
  findGroup(id: string): Promise<KeyGroup | undefined> {
    return this.#lookup('group', id, () => this.inner.findGroup(id))
  }
  findOwner(id: string): Promise<OwnerRecord | undefined> {
    return this.#lookup('owner', id, () => this.inner.findOwner(id))
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
  listKeys(filter?: Parameters<MemoryKeyStore['listKeys']>[0]) {
    return this.inner.listKeys(filter)
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
  listGroups(filter?: Parameters<MemoryKeyStore['listGroups']>[0]) {
    return this.inner.listGroups(filter)
  }
  putOwner(id: string, o: OwnerRecord) {
    return this.inner.putOwner(id, o)
  }
  deleteOwner(id: string) {
    return this.inner.deleteOwner(id)
  }
}

/**
 * A `SlowStore` that also has the one-step writes a database store has (`revokeKey`,
 * `revokeGroup`, `narrowGroupIps`), so that `KeyManager` revokes through them; counts them.
 */
export class OneStepSlowStore extends SlowStore {
  readonly oneStep: string[] = []
  revokeKey(id: string, revoke: KeyRevoke, at: number): Promise<KeyRecord | undefined> {
    this.oneStep.push('revokeKey')
    return this.inner.revokeKey(id, revoke, at)
  }
  revokeGroup(id: string, at: number): Promise<KeyGroup | undefined> {
    this.oneStep.push('revokeGroup')
    return this.inner.revokeGroup(id, at)
  }
  narrowGroupIps(id: string, keep: readonly string[], at: number): Promise<KeyGroup | undefined> {
    this.oneStep.push('narrowGroupIps')
    return this.inner.narrowGroupIps(id, keep, at)
  }
}
