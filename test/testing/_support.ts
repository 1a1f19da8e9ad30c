/**
 * Shared helpers for the keyward/testing suite: deciding a request through a kit's authorizer
 * without any framework, and a plain summary of a decision for assertions.
 */
import { afterEach } from 'vitest'
import type { AuthRequest, Decision, Need } from '../../src/index.js'
import { createTestAuthority, type TestAuthority, type TestHeaders } from '../../src/testing/index.js'

/**
 * A kit factory for one test file: every kit it makes is closed after each test. Call it at the
 * top level of the file (it registers an `afterEach`).
 */
export function kitsClosedAfterEach(): (options?: Parameters<typeof createTestAuthority>[0]) => TestAuthority {
  const kits: TestAuthority[] = []
  afterEach(async () => {
    await Promise.all(kits.splice(0).map((k) => k.close()))
  })
  return (options) => {
    const k = createTestAuthority(options)
    kits.push(k)
    return k
  }
}

/** A GET from loopback through the kit's authorizer. */
export function decide(kit: TestAuthority, headers: TestHeaders, need?: Need, extra: Partial<AuthRequest> = {}): Promise<Decision> {
  return kit.authorizer.authorize({ method: 'GET', url: '/scans', headers, remoteAddress: '127.0.0.1', ...extra }, need)
}

/** `allow` plus, on allow, the scheme; on deny, the reason. */
export function outcome(d: Decision): string {
  return d.allow ? `allow:${d.principal.scheme}` : `deny:${d.reason}`
}
