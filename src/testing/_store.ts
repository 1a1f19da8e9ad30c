/**
 * The kit's store and manager: the real `MemoryKeyStore` and `KeyManager`, with two additions a
 * test kit needs and production code must not have.
 * @module
 */
import { rangeError } from '../errors.js'
import { parseKey } from '../keys/format.js'
import { KeyManager, type ImportOptions } from '../stores/manager.js'
import { MemoryKeyStore } from '../stores/memory.js'
import type { KeyRecord } from '../types.js'
import { TEST_ENVIRONMENT } from './_keys.js'

/**
 * A `MemoryKeyStore` that also keeps a synchronous view of its records by hash, so that
 * `headersFor` can stay synchronous (and so usable inline in `.set(...)`) while still reading
 * the key's current owner and tenant, whatever was changed through `manager` since it was issued.
 * Every write goes through the parent first; the view only follows writes that succeeded.
 */
export class TestKeyStore extends MemoryKeyStore {
  readonly #byHash = new Map<string, KeyRecord>()
  readonly #byId = new Map<string, KeyRecord>()

  /** The record whose current or previous hash is `hash`, as last written. */
  recordByHash(hash: string): KeyRecord | undefined {
    return this.#byHash.get(hash)
  }

  /** The record with this id, as last written. */
  recordById(id: string): KeyRecord | undefined {
    return this.#byId.get(id)
  }

  #forget(id: string): void {
    const old = this.#byId.get(id)
    if (old === undefined) return
    this.#byHash.delete(old.hash)
    if (old.previousHash !== undefined) this.#byHash.delete(old.previousHash)
    this.#byId.delete(id)
  }

  #remember(record: KeyRecord): void {
    const r = Object.freeze({ ...record })
    this.#byId.set(r.id, r)
    this.#byHash.set(r.hash, r)
    if (r.previousHash !== undefined) this.#byHash.set(r.previousHash, r)
  }

  override async insertKey(record: KeyRecord): Promise<void> {
    await super.insertKey(record)
    this.#remember(record)
  }

  override async updateKey(record: KeyRecord, expected?: KeyRecord): Promise<void> {
    // `expected` passed on: the parent's compare-and-swap must keep working for the manager.
    await super.updateKey(record, expected)
    this.#forget(record.id)
    this.#remember(record)
  }

  override async deleteKey(id: string): Promise<boolean> {
    const done = await super.deleteKey(id)
    if (done) this.#forget(id)
    return done
  }
}

/**
 * A `KeyManager` whose `import` refuses keys in keyward's shape from any environment but `test`
 * (`kw_live_…`, `acme_prod_…`, or no environment at all): a real key pasted into a test is refused
 * on the spot instead of quietly working. Keys of other shapes (an Ivanti Reference ID, a UUID)
 * are still accepted, as legacy keys are in production. `issue` and `rotate` already make
 * `test` keys: the kit constructs this manager with `environment: 'test'`.
 */
export class TestKeyManager extends KeyManager {
  override async import(options: ImportOptions): Promise<KeyRecord> {
    const key: unknown = options !== null && typeof options === 'object' ? options.key : undefined
    if (typeof key === 'string') {
      const parsed = parseKey(key)
      if (parsed !== undefined && parsed.environment !== TEST_ENVIRONMENT) {
        throw rangeError('key', `the testing kit only holds test keys (<prefix>_${TEST_ENVIRONMENT}_…); this one is a ${parsed.environment === undefined ? 'key without an environment' : `"${parsed.environment}" key`}. Never put a real key in a test`)
      }
    }
    return super.import(options)
  }
}
