/**
 * The credential schemes, as one namespace object: `schemes.apiKeyHeader()`, `schemes.bearer()`…
 * @module
 */
import { apiKeyHeader, ssapi } from './api-key.js'
import { basic } from './basic.js'
import { bearer } from './bearer.js'
import { contrast } from './contrast.js'
import { jwt } from './jwt.js'
import { restApiKey } from './rest-api-key.js'

/**
 * Factories of the credential schemes an authorizer reads. Headers only: a key in the query
 * string is never read.
 *
 * | factory | header |
 * |---|---|
 * | `apiKeyHeader({ header })` | `X-Api-Key: <key>` (default), or any header you name |
 * | `ssapi()` | `X-SSAPI-KEY: <key>` (AttackForge) |
 * | `restApiKey()` | `Authorization: rest_api_key=<id>` (Ivanti) |
 * | `contrast()` | `API-Key: <org key>` + `Authorization: base64(user:service-key)` (Contrast) |
 * | `bearer()` | `Authorization: Bearer <key>` |
 * | `basic()` | `Authorization: Basic base64(key:)` |
 * | `jwt({ key \| jwks, algorithms, issuer, audience, … })` | `Authorization: Bearer <jwt>`, verified with `jose` (IdP tokens, or tokens from `mintToken`) |
 *
 * @example
 * ```ts
 * import { createAuthorizer, schemes } from 'keyward'
 * const authorizer = createAuthorizer({ store, schemes: [schemes.apiKeyHeader(), schemes.bearer()] })
 * ```
 * @namespace
 */
export const schemes = /* @__PURE__ */ Object.freeze({
  /** The key in a header of its own: `X-Api-Key: <key>` by default (InsightAppSec), or any header you name. */
  apiKeyHeader,
  /** The key in `X-SSAPI-KEY: <key>` (AttackForge). */
  ssapi,
  /** The key in `Authorization: rest_api_key=<Reference ID>` (Ivanti). */
  restApiKey,
  /** Contrast's pair: `API-Key: <organization key>` and `Authorization: base64(user:service-key)`. */
  contrast,
  /** An opaque key in `Authorization: Bearer <key>` (RFC 6750). */
  bearer,
  /** The key as the Basic user-id or password (RFC 7617), as `curl -u key:` sends it. */
  basic,
  /** A signed token in `Authorization: Bearer <jwt>`, verified with `jose` (IdP tokens, or tokens from `mintToken`). */
  jwt,
})
