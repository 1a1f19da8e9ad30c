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
export { auditTo, MemoryAuditStore } from './audit.js'
export type { AuditEntry, AuditQuery, AuditStore, MemoryAuditStoreOptions } from './audit.js'
export { MemoryUsageRecorder, usageOnDecision } from './usage.js'
export type { MemoryUsageRecorderOptions, UsagePoint, UsageQuery, UsageRecorder } from './usage.js'
export { createLeakHandler } from './leak.js'
export type { LeakAction, LeakAuditEvent, LeakHandler, LeakHandlerOptions, LeakNotice, LeakPolicy, LeakPublicKey, LeakVerifyOptions } from './leak.js'
