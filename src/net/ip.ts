/**
 * Client-address allowlists as the rest of keyward uses them: compiled once from CIDR text when a
 * key, group or authorizer is configured, checked per request. Implemented in `./_ip.ts` (strict
 * address parsing) and `./_allowlist.ts` (integer masks); import from here outside this folder.
 * @module
 */
export { allowlistHas, compileAllowlist } from './_allowlist.js'
export type { Allowlist } from './_allowlist.js'
export type { IpAddress } from './_ip.js'
