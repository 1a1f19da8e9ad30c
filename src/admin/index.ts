/**
 * `keyward/admin`: the admin REST API and web console, as one Fetch-API handler.
 *
 * Every export is named here explicitly; nothing is re-exported wholesale.
 * @module
 */
export { createAdminHandler } from './handler.js'
export type { AdminAuditEvent, AdminAuditOutcome, AdminHandler, AdminHandlerOptions, ClientInfo } from './handler.js'
export { adminOpenApi } from './openapi.js'
export type { AdminOpenApiOptions } from './openapi.js'
export type { ConsoleAuth } from './_console.js'
export type { CreditsView, GroupView, KeyView } from './_serialize.js'
export { createLeakHandler } from './leak.js'
export type { LeakAction, LeakAuditEvent, LeakHandler, LeakHandlerOptions, LeakNotice, LeakPolicy, LeakPublicKey, LeakVerifyOptions } from './leak.js'
