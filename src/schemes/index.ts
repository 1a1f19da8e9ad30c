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
 */
export const schemes = /* @__PURE__ */ Object.freeze({ apiKeyHeader, ssapi, restApiKey, contrast, bearer, basic, jwt })
