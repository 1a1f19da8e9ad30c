/**
 * keyward: in-process API-key authentication and authorization.
 *
 * Every export is named here explicitly; nothing is re-exported wholesale, so the public surface
 * is exactly this file (a test snapshots it).
 * @module
 */
export { createAuthorizer } from './authorize.js'
export type { Authorizer, AuthorizerOptions, CompiledNeed, DescribeOptions } from './authorize.js'
export type { BreakerOptions, BreakerState } from './lib/breaker.js'
export { renderDeny } from './decision.js'
export type { DenyResponse, RenderDenyOptions } from './decision.js'
export { ConflictError, KeywardError, NotFoundError, INVALID_OPTION } from './errors.js'
export { generateKey, parseKey } from './keys/format.js'
export type { GenerateKeyOptions, ParsedKey } from './keys/format.js'
export { hashKey } from './keys/hash.js'
export type { Pepper } from './keys/hash.js'
export { tokenBucket } from './ratelimit/token-bucket.js'
export type { TokenBucketOptions } from './ratelimit/token-bucket.js'
export { defineRoles, insightAppSecRoles } from './roles.js'
export type { ExtendedPermission, PermissionSet, ParsedPermission, Roles, RolesDefinition, RolesExtension } from './roles.js'
export { schemes } from './schemes/index.js'
export type { ApiKeyHeaderOptions } from './schemes/api-key.js'
export type { JwtAlgorithm, JwtCacheOptions, JwtClaims, JwtKey, JwtOptions, RemoteJwks } from './schemes/jwt.js'
export { readHeader, tenantFromHost, tenantFromPath } from './tenant.js'
export type { HeaderReader, TenantFromHostOptions, TenantFromPathOptions, TenantResolver } from './tenant.js'
export { mintToken } from './tokens.js'
export type { MintTokenOptions } from './tokens.js'
export type { BearerError, Extraction, Scheme, TokenIdentity, TokenOutcome } from './schemes/scheme.js'
export { KeyManager } from './stores/manager.js'
export type {
  GroupOptions,
  GroupPatch,
  ImportOptions,
  IssuedKey,
  IssueOptions,
  KeyManagerOptions,
  KeyPatch,
  RotateOptions,
  StoreChange,
} from './stores/manager.js'
export { MemoryKeyStore } from './stores/memory.js'
export { cachedStore } from './stores/cached.js'
export type { CachedStore, CachedStoreOptions, CacheEvent, CacheObserver, CacheSpace } from './stores/cached.js'
export type {
  AllowDecision,
  AuthRequest,
  CreditLedger,
  CreditRefill,
  CreditResult,
  Decision,
  DecisionEvent,
  DenyCode,
  DenyDecision,
  DenyReason,
  GroupFilter,
  HeaderRecord,
  KeyCredits,
  KeyFilter,
  KeyGroup,
  KeyKind,
  KeyRecord,
  KeyRevoke,
  KeyStore,
  ManagedKeyStore,
  Need,
  OwnerRecord,
  Principal,
  RateLimiter,
  RateLimitResult,
  RateLimitSpec,
} from './types.js'
