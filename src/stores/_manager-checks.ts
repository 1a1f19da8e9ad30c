/**
 * The argument checks of `KeyManager` that are not one record's fields: the store it manages, its
 * options, and the filters of its list methods. Each throws a `TypeError`/`RangeError` naming the
 * field, before anything is written.
 * @module
 */
import { fieldsOf, knownFields } from '../lib/options.js'
import { typeError } from '../errors.js'
import { validateKeyOptions } from '../keys/format.js'
import type { GroupFilter, KeyFilter, ManagedKeyStore } from '../types.js'
import * as F from './fields.js'
import { object } from './_manager-edits.js'
import type { KeyManagerOptions } from './_manager-options.js'

const MANAGER_FIELDS = fieldsOf<KeyManagerOptions>({ pepper: true, prefix: true, environment: true, roles: true, now: true, onWrite: true })

/** The methods a store must have to be managed. */
const MANAGED_METHODS = ['getKey', 'insertKey', 'updateKey', 'deleteKey', 'listKeys', 'getGroup', 'insertGroup', 'updateGroup', 'deleteGroup', 'listGroups'] as const

/** Checks the store and the options of a `KeyManager`, store first. */
export function checkManager(store: ManagedKeyStore, options: KeyManagerOptions): void {
  if (store === null || typeof store !== 'object') throw typeError('store', 'must be a key store')
  for (const m of MANAGED_METHODS) {
    if (typeof store[m] !== 'function') throw typeError('store', `must implement ${m}() to be managed`)
  }
  knownFields(object(options, 'options'), MANAGER_FIELDS, 'options')
  validateKeyOptions(options)
  if (options.roles !== undefined && (typeof options.roles !== 'object' || typeof options.roles.has !== 'function')) {
    throw typeError('roles', 'must come from defineRoles()')
  }
  if (options.now !== undefined && typeof options.now !== 'function') throw typeError('now', 'must be a function')
  if (options.onWrite !== undefined && typeof options.onWrite !== 'function') throw typeError('onWrite', 'must be a function')
}

/** The validated filter of `list()`: only the fields given, each checked. */
export function keyFilter(filter: KeyFilter): KeyFilter {
  const f = object(filter, 'filter')
  F.onlyFields(f, new Set(['tenant', 'group', 'owner', 'kind', 'active']), 'filter')
  const clean: KeyFilter = {}
  if (f.tenant !== undefined) clean.tenant = F.tenant(f.tenant, 'filter.tenant')
  if (f.group !== undefined) clean.group = F.id(f.group, 'filter.group')
  if (f.owner !== undefined) clean.owner = F.owner(f.owner, 'filter.owner')
  if (f.kind !== undefined) clean.kind = F.kind(f.kind, 'filter.kind')
  if (f.active !== undefined) clean.active = F.bool(f.active, 'filter.active')
  return clean
}

/** The validated filter of `listGroups()`. */
export function groupFilter(filter: GroupFilter): GroupFilter {
  const f = object(filter, 'filter')
  F.onlyFields(f, new Set(['tenant']), 'filter')
  return f.tenant === undefined ? {} : { tenant: F.tenant(f.tenant, 'filter.tenant') }
}
