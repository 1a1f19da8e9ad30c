/**
 * `keyward/testing`: test your routes with keyward in front of them, in Vitest or Jest, with no
 * database and no real key. Every export is named here explicitly.
 *
 * @example
 * ```ts
 * import { createTestAuthority } from 'keyward/testing'
 * const kit = createTestAuthority()
 * const key = await kit.issue({ role: 'Read Write' })
 * await request(app).post('/scans').set(kit.headersFor(key)).expect(201)
 * ```
 * @module
 */
export { createTestAuthority, TEST_EPOCH, TEST_JWT_ISSUER, TEST_PEPPER } from './authority.js'
export type {
  HeadersForOptions,
  TestAuthority,
  TestAuthorityOptions,
  TestDefaults,
  TestHeaders,
  TestIssueSpec,
  TokenHeadersOptions,
} from './types.js'
export { createTestClock } from './_clock.js'
export type { TestClock } from './_clock.js'
export type { TestSchemeName } from './_headers.js'
