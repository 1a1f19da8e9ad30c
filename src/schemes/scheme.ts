/**
 * The scheme contract as the rest of keyward sees it: the types the authorizer, the testing kit
 * and the public entry point use, and the key length limit the CLI shares. Defined in
 * `./_scheme.ts`, beside the schemes that implement it; import them from here outside this folder.
 * Internal: the package entry point re-exports the public types, nothing else.
 * @module
 */
export { MAX_KEY_LENGTH } from './_scheme.js'
export type { BearerError, Extraction, Scheme, TokenIdentity, TokenOutcome } from './_scheme.js'
