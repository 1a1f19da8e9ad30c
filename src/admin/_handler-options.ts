/**
 * The options of `createAdminHandler`, checked once when the handler is created.
 * @module
 */
import { fieldsOf, knownFields } from '../lib/options.js'
import type { Authorizer } from '../authorize.js'
import { quote, rangeError, typeError } from '../errors.js'
import type { KeyManager } from '../stores/manager.js'
import type { Principal } from '../types.js'
import { admission, type Admission } from './_admit.js'
import type { ConsoleAuth } from './_console.js'
import { trustedOriginsOf } from './_origin.js'
import type { AuditStore } from './audit.js'
import type { AdminHandlerOptions } from './handler.js'
import type { UsageRecorder } from './usage.js'

const MANAGER_METHODS = [
  'issue', 'get', 'list', 'update', 'activate', 'deactivate', 'delete', 'rotate', 'grant', 'revokeGrant', 'addAllowedIps', 'removeAllowedIps',
  'createGroup', 'getGroup', 'listGroups', 'updateGroup', 'activateGroup', 'deactivateGroup', 'deleteGroup',
] as const

const BASE_PATH_RE = /^(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*$/

function consoleAuthOf(authorizer: Authorizer, wanted: string | undefined): ConsoleAuth | undefined {
  for (const s of authorizer.schemes) {
    if (wanted !== undefined && s.name !== wanted) continue
    const cs = s.challengeScheme
    let found: ConsoleAuth | undefined
    if (cs.startsWith('apikey:') && s.headers.length === 1) found = { header: s.headers[0]!, format: 'raw' }
    else if (cs === 'bearer') found = { header: 'authorization', format: 'bearer' }
    else if (cs === 'basic') found = { header: 'authorization', format: 'basic' }
    else if (cs === 'rest_api_key') found = { header: 'authorization', format: 'rest_api_key' }
    if (found || wanted !== undefined) return found
  }
  return undefined
}

const ADMIN_FIELDS = fieldsOf<AdminHandlerOptions>({
  manager: true, authorizer: true, permission: true, basePath: true, clientInfo: true, trustedOrigins: true, maxBodyBytes: true, console: true,
  consoleScheme: true, onAudit: true, onError: true, now: true, selfService: true, auditStore: true, usage: true,
})

/** The options, validated, with their defaults applied. */
export interface AdminSettings {
  readonly manager: KeyManager
  readonly authorizer: Authorizer
  readonly permission: string | undefined
  readonly clientInfo: AdminHandlerOptions['clientInfo']
  readonly onAudit: AdminHandlerOptions['onAudit']
  readonly onError: AdminHandlerOptions['onError']
  readonly admit: Admission
  readonly basePath: string
  readonly trusted: ReadonlySet<string>
  readonly maxBodyBytes: number
  readonly serveConsole: boolean
  readonly auth: ConsoleAuth | undefined
  readonly now: () => number
  readonly selfService: boolean
  readonly auditStore: AuditStore | undefined
  readonly usage: UsageRecorder | undefined
  /** An administrator: an org key, or a key holding `permission`. */
  readonly isAdmin: (p: Principal) => boolean
  /** A self-service caller: a user key acting for an owner (whose keys it may manage). */
  readonly isSelf: (p: Principal) => boolean
}

/** Checks `options` (a clear `TypeError`/`RangeError` naming the field) and applies the defaults. */
export function adminSettings(options: AdminHandlerOptions): AdminSettings {
  if (options === null || typeof options !== 'object') throw typeError('options', 'must be an object')
  knownFields(options, ADMIN_FIELDS, 'options')
  const { manager, authorizer, permission, clientInfo, onAudit, onError } = options
  if (manager === null || typeof manager !== 'object' || MANAGER_METHODS.some((m) => typeof manager[m] !== 'function')) {
    throw typeError('manager', 'must be a KeyManager')
  }
  if (
    authorizer === null || typeof authorizer !== 'object' || typeof authorizer.authorize !== 'function' || typeof authorizer.need !== 'function' ||
    authorizer.roles === null || typeof authorizer.roles !== 'object' || !Array.isArray(authorizer.schemes)
  ) {
    throw typeError('authorizer', 'must come from createAuthorizer()')
  }
  const admit = admission(authorizer)
  if (permission !== undefined) {
    if (typeof permission !== 'string') throw typeError('permission', 'must be a permission string (resource:level)')
    // Some role must hold it: otherwise nobody could administer, not even org keys (which hold
    // exactly the matrix's permissions), and every admin call would be refused.
    const roles = authorizer.roles
    if (roles.lookup(permission) === undefined || !roles.names.some((n) => roles.permissionsOf(n)?.has(permission) === true)) {
      throw rangeError('permission', `${quote(permission)} is not held by any role of the authorizer's role matrix; add it to a role with defineRoles()`)
    }
  }
  const basePath = options.basePath ?? '/admin'
  if (typeof basePath !== 'string') throw typeError('basePath', 'must be a string')
  if (basePath.length > 256 || !BASE_PATH_RE.test(basePath) || basePath.split('/').some((s) => s === '..')) {
    throw rangeError('basePath', `${quote(basePath)} must be '' or '/segment[/segment…]' of unreserved characters, without a trailing slash`)
  }
  if (clientInfo !== undefined && typeof clientInfo !== 'function') throw typeError('clientInfo', 'must be a function (request) => { remoteAddress?, secure? }')
  const trusted = trustedOriginsOf(options.trustedOrigins)
  const maxBodyBytes = options.maxBodyBytes ?? 65536
  if (typeof maxBodyBytes !== 'number' || !Number.isInteger(maxBodyBytes)) throw typeError('maxBodyBytes', 'must be an integer')
  if (maxBodyBytes < 1024 || maxBodyBytes > 16 * 1024 * 1024) throw rangeError('maxBodyBytes', 'must be from 1024 to 16 MiB')
  const serveConsole = options.console ?? true
  if (typeof serveConsole !== 'boolean') throw typeError('console', 'must be a boolean')
  const consoleScheme = options.consoleScheme
  if (consoleScheme !== undefined && typeof consoleScheme !== 'string') throw typeError('consoleScheme', 'must be a scheme name')
  const auth = consoleAuthOf(authorizer, consoleScheme)
  if (consoleScheme !== undefined && auth === undefined) {
    throw rangeError('consoleScheme', `${quote(consoleScheme)} is not a configured scheme the console can use (API-key header, bearer, basic, rest_api_key)`)
  }
  if (onAudit !== undefined && typeof onAudit !== 'function') throw typeError('onAudit', 'must be a function')
  if (onError !== undefined && typeof onError !== 'function') throw typeError('onError', 'must be a function')
  const now = options.now ?? Date.now
  if (typeof now !== 'function') throw typeError('now', 'must be a function')
  const selfService = options.selfService ?? false
  if (typeof selfService !== 'boolean') throw typeError('selfService', 'must be a boolean')
  /** An administrator: an org key, or a key holding `permission`. */
  const isAdmin = (p: Principal): boolean => p.kind === 'org' || (permission !== undefined && p.can(permission))
  /** A self-service caller: a user key acting for an owner (whose keys it may manage). */
  const isSelf = (p: Principal): boolean => selfService && !isAdmin(p) && p.kind === 'user' && p.owner !== undefined
  const { auditStore, usage } = options
  if (auditStore !== undefined && (auditStore === null || typeof auditStore !== 'object' || typeof auditStore.append !== 'function' || typeof auditStore.list !== 'function' || typeof auditStore.leaked !== 'function')) {
    throw typeError('auditStore', 'must be an AuditStore (append, list, leaked)')
  }
  if (usage !== undefined && (usage === null || typeof usage !== 'object' || typeof usage.record !== 'function' || typeof usage.series !== 'function')) {
    throw typeError('usage', 'must be a UsageRecorder (record, series)')
  }
  return {
    manager, authorizer, permission, clientInfo, onAudit, onError, admit, basePath, trusted, maxBodyBytes, serveConsole, auth, now, selfService,
    auditStore, usage, isAdmin, isSelf,
  }
}
