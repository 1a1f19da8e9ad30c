/**
 * The embedded key store: everything in process memory, nothing on disk.
 * @module
 */
import { ConflictError, NotFoundError } from '../errors.js'
import type {
  GroupFilter,
  KeyFilter,
  KeyGroup,
  KeyRecord,
  ManagedKeyStore,
  OwnerRecord,
} from '../types.js'

function freezeRecord<T extends object>(r: T): T {
  // Records are shared with the authorizer, which caches what it derives from each record
  // object; freezing makes "replace, never mutate" a guarantee rather than a convention.
  for (const v of Object.values(r)) if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) Object.freeze(v)
  return Object.freeze(r)
}

/** JSON with sorted keys, so two records compare by content whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`
  }
  return JSON.stringify(v) ?? 'null'
}

/** Equal in every field but `lastUsedAt`, which `touch` changes behind every writer's back. */
function sameAs<T extends object>(stored: T, expected: T): boolean {
  if (stored === expected) return true
  const { lastUsedAt: _a, ...a } = stored as T & { lastUsedAt?: number }
  const { lastUsedAt: _b, ...b } = expected as T & { lastUsedAt?: number }
  return canonical(a) === canonical(b)
}

function matches(r: KeyRecord, f: KeyFilter | undefined): boolean {
  if (!f) return true
  return (
    (f.tenant === undefined || r.tenant === f.tenant) &&
    (f.group === undefined || r.group === f.group) &&
    (f.owner === undefined || r.owner === f.owner) &&
    (f.kind === undefined || r.kind === f.kind) &&
    (f.active === undefined || r.active === f.active)
  )
}

/**
 * In-memory `KeyStore`, the embedded default. Lookups are one `Map.get` by hash. Only hashes
 * are held. Use it for single-process servers, tests and demos; for several instances use a
 * shared store (`keyward/postgres`).
 *
 * @example
 * ```ts
 * import { MemoryKeyStore, KeyManager, createAuthorizer } from 'keyward'
 * const store = new MemoryKeyStore()
 * const manager = new KeyManager(store)
 * const { key } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
 * const authorizer = createAuthorizer({ store })
 * ```
 */
export class MemoryKeyStore implements ManagedKeyStore {
  readonly #byId = new Map<string, KeyRecord>()
  readonly #byHash = new Map<string, string>()
  readonly #groups = new Map<string, KeyGroup>()
  readonly #owners = new Map<string, OwnerRecord>()

  /** Number of keys held. */
  get size(): number {
    return this.#byId.size
  }

  async findByHash(hash: string): Promise<KeyRecord | undefined> {
    const id = this.#byHash.get(hash)
    return id === undefined ? undefined : this.#byId.get(id)
  }

  async findGroup(id: string): Promise<KeyGroup | undefined> {
    return this.#groups.get(id)
  }

  async findOwner(id: string): Promise<OwnerRecord | undefined> {
    return this.#owners.get(id)
  }

  async touch(id: string, at: number): Promise<void> {
    const r = this.#byId.get(id)
    if (r && (r.lastUsedAt === undefined || r.lastUsedAt < at)) this.#byId.set(id, freezeRecord({ ...r, lastUsedAt: at }))
  }

  async getKey(id: string): Promise<KeyRecord | undefined> {
    return this.#byId.get(id)
  }

  #indexHashes(r: KeyRecord, except?: KeyRecord): void {
    for (const h of [r.hash, r.previousHash]) {
      if (h === undefined) continue
      const owner = this.#byHash.get(h)
      if (owner !== undefined && owner !== except?.id) throw new ConflictError('a key with this hash already exists')
    }
  }

  async insertKey(record: KeyRecord): Promise<void> {
    if (this.#byId.has(record.id)) throw new ConflictError(`key ${record.id} already exists`)
    this.#indexHashes(record)
    const r = freezeRecord({ ...record })
    this.#byId.set(r.id, r)
    this.#byHash.set(r.hash, r.id)
    if (r.previousHash !== undefined) this.#byHash.set(r.previousHash, r.id)
  }

  async updateKey(record: KeyRecord, expected?: KeyRecord): Promise<void> {
    const old = this.#byId.get(record.id)
    if (!old) throw new NotFoundError(`key ${record.id} does not exist`)
    if (expected !== undefined && !sameAs(old, expected)) throw new ConflictError(`key ${record.id} was changed by another writer; read it again and retry`)
    this.#indexHashes(record, old)
    for (const h of [old.hash, old.previousHash]) if (h !== undefined) this.#byHash.delete(h)
    const r = freezeRecord({ ...record })
    this.#byId.set(r.id, r)
    this.#byHash.set(r.hash, r.id)
    if (r.previousHash !== undefined) this.#byHash.set(r.previousHash, r.id)
  }

  async deleteKey(id: string): Promise<boolean> {
    const old = this.#byId.get(id)
    if (!old) return false
    for (const h of [old.hash, old.previousHash]) if (h !== undefined) this.#byHash.delete(h)
    this.#byId.delete(id)
    return true
  }

  async listKeys(filter?: KeyFilter): Promise<KeyRecord[]> {
    const out: KeyRecord[] = []
    for (const r of this.#byId.values()) if (matches(r, filter)) out.push(r)
    return out
  }

  async getGroup(id: string): Promise<KeyGroup | undefined> {
    return this.#groups.get(id)
  }

  async insertGroup(group: KeyGroup): Promise<void> {
    if (this.#groups.has(group.id)) throw new ConflictError(`group ${group.id} already exists`)
    this.#groups.set(group.id, freezeRecord({ ...group }))
  }

  async updateGroup(group: KeyGroup, expected?: KeyGroup): Promise<void> {
    const old = this.#groups.get(group.id)
    if (!old) throw new NotFoundError(`group ${group.id} does not exist`)
    if (expected !== undefined && !sameAs(old, expected)) throw new ConflictError(`group ${group.id} was changed by another writer; read it again and retry`)
    this.#groups.set(group.id, freezeRecord({ ...group }))
  }

  async deleteGroup(id: string): Promise<boolean> {
    return this.#groups.delete(id)
  }

  async listGroups(filter?: GroupFilter): Promise<KeyGroup[]> {
    const out: KeyGroup[] = []
    for (const g of this.#groups.values()) if (filter?.tenant === undefined || g.tenant === filter.tenant) out.push(g)
    return out
  }

  async putOwner(id: string, owner: OwnerRecord): Promise<void> {
    this.#owners.set(id, freezeRecord({ ...owner }))
  }

  async deleteOwner(id: string): Promise<boolean> {
    return this.#owners.delete(id)
  }
}
