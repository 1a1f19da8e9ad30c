/**
 * A store over a `MemoryKeyStore` that counts every call the authorizer makes, answers either
 * through the synchronous peeks or only asynchronously, and can hand out "poisoned" answers:
 * records whose fields throw when read, as an ORM entity over a dropped connection does.
 */
import { KeyManager } from '../../src/stores/manager.js'
import { MemoryKeyStore } from '../../src/stores/memory.js'
import type { KeyGroup, KeyRecord, KeyStore, OwnerRecord } from '../../src/types.js'

export type Answering = 'peek' | 'async'
export type LookupName = 'key' | 'group' | 'owner'

/** A record that throws on every operation, `typeof` aside (a revoked Proxy). */
export function revoked<T extends object>(target: T): T {
  const { proxy, revoke } = Proxy.revocable(target, {})
  revoke()
  return proxy
}

/** A record whose every field throws when read (`then` aside, so it can still be awaited). */
export function poisoned<T extends object>(target: T): T {
  return new Proxy(target, {
    get(_t, p) {
      if (p === 'then') return undefined
      throw new Error('connection terminated while reading a field')
    },
  })
}

export interface SpyStore extends KeyStore {
  readonly inner: MemoryKeyStore
  readonly manager: KeyManager
  /** Every call, in order: `findByHash`, `peekByHash`, `findGroup`, ... */
  readonly calls: string[]
  /** Which answers to poison: a lookup kind and a test on the real answer. */
  poison: { lookup: LookupName; style?: 'getter' | 'revoked'; when: (value: KeyRecord | KeyGroup | OwnerRecord) => boolean } | undefined
}

export function spyStore(answering: Answering, now: () => number): SpyStore {
  const inner = new MemoryKeyStore()
  const calls: string[] = []
  const s = {
    inner,
    manager: new KeyManager(inner, { now }),
    calls,
    poison: undefined as SpyStore['poison'],
  }
  const maybe = <T extends object>(lookup: LookupName, v: T | undefined): T | undefined => {
    const p = s.poison
    return v !== undefined && p !== undefined && p.lookup === lookup && p.when(v as never) ? (p.style === 'revoked' ? revoked(v) : poisoned(v)) : v
  }
  const store: SpyStore = Object.assign(s, {
    async findByHash(hash: string) {
      calls.push('findByHash')
      return maybe('key', await inner.findByHash(hash))
    },
    async findGroup(id: string) {
      calls.push('findGroup')
      return maybe('group', await inner.findGroup(id))
    },
    async findOwner(id: string) {
      calls.push('findOwner')
      return maybe('owner', await inner.findOwner(id))
    },
  })
  if (answering === 'peek') {
    Object.assign(store, {
      peekByHash(hash: string) {
        calls.push('peekByHash')
        const v = inner.peekByHash(hash)
        return v === null || v === undefined ? v : maybe('key', v)
      },
      peekGroup(id: string) {
        calls.push('peekGroup')
        const v = inner.peekGroup(id)
        return v === null || v === undefined ? v : maybe('group', v)
      },
      peekOwner(id: string) {
        calls.push('peekOwner')
        const v = inner.peekOwner(id)
        return v === null || v === undefined ? v : maybe('owner', v)
      },
    })
  }
  return store
}
