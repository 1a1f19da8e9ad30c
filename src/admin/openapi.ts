/**
 * The OpenAPI 3.1 description of the admin API, served at `<basePath>/openapi.json`.
 *
 * Written out by hand rather than generated from the route table: a test compares the two
 * (paths, methods, body fields, required fields, examples accepted by the handler), so a route
 * or a field added to one and not the other fails the build.
 * @module
 */
import type { ConsoleAuth } from './_console.js'
import { PATHS } from './_openapi-paths.js'
import { SCHEMAS, type Json } from './_openapi-schemas.js'

/** Options of {@link adminOpenApi}. */
export interface AdminOpenApiOptions {
  /**
   * The handler's base path; becomes the document's server URL.
   * @default '/admin'
   * @example '/internal/keys'
   */
  basePath?: string
  /**
   * How the admin key is sent, for `securitySchemes`.
   * @default { header: 'x-api-key', format: 'raw' }
   * @example { header: 'authorization', format: 'bearer' }
   */
  auth?: ConsoleAuth
  /**
   * The `permission` option of the handler, mentioned in the description.
   * @default undefined
   * @example 'keys:administer'
   */
  permission?: string
}

function securityScheme(auth: ConsoleAuth): Json {
  switch (auth.format) {
    case 'bearer':
      return { type: 'http', scheme: 'bearer' }
    case 'basic':
      return { type: 'http', scheme: 'basic', description: 'The key as the user name, empty password.' }
    case 'rest_api_key':
      return { type: 'apiKey', in: 'header', name: 'Authorization', description: 'Authorization: rest_api_key=<key>' }
    default:
      return { type: 'apiKey', in: 'header', name: auth.header }
  }
}

/**
 * The OpenAPI 3.1 document of the admin API (what `GET <basePath>/openapi.json` serves).
 *
 * @example
 * ```ts
 * import { adminOpenApi } from 'keyward/admin'
 * writeFileSync('admin-openapi.json', JSON.stringify(adminOpenApi({ basePath: '/admin' }), null, 2))
 * ```
 */
export function adminOpenApi(options: AdminOpenApiOptions = {}): Record<string, unknown> {
  const basePath = options.basePath ?? '/admin'
  const auth = options.auth ?? { header: 'x-api-key', format: 'raw' }
  const who = options.permission === undefined
    ? 'an `org` key of the tenant (or a tenant-less `org` key in a single-tenant deployment)'
    : `an \`org\` key of the tenant, or a key holding \`${options.permission}\``
  const doc: Record<string, Json> = {
    openapi: '3.1.0',
    info: {
      title: 'keyward admin API',
      version: '1',
      description:
        `Manage key groups and API keys. Every call is authorized as ${who}, and scoped to the caller's tenant. ` +
        'Each route is authorized as the operation `admin:<operationId>` (for `explicitGrants`). ' +
        'Errors are RFC 9457 problem documents. Plaintext keys appear only in the responses of createKey and rotateKey, ' +
        'and go only to an org administrator or to a key of the same owner. Only API keys administer, never tokens. ' +
        'Browser calls must be same-origin (Sec-Fetch-Site, Origin), and every body must be application/json.',
    },
    servers: [{ url: basePath === '' ? '/' : basePath }],
    security: [{ adminKey: [] }],
    tags: [
      { name: 'session' }, { name: 'groups' }, { name: 'keys' }, { name: 'audit' }, { name: 'console', description: 'The web console and this document; no credentials.' },
    ],
    paths: PATHS,
    components: { schemas: SCHEMAS, securitySchemes: { adminKey: securityScheme(auth) } },
  }
  // A fresh deep copy every call: callers may edit what they get without touching shared state.
  return JSON.parse(JSON.stringify(doc)) as Record<string, unknown>
}
