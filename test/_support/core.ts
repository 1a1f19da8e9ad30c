/**
 * Shared setup for core tests: a store, a manager, an authorizer factory and request builders.
 * Every event, rendered deny and thrown error is kept, so tests can check that no key leaks.
 */
import {
  createAuthorizer,
  KeyManager,
  MemoryKeyStore,
  renderDeny,
  type AuthorizerOptions,
  type AuthRequest,
  type Decision,
  type DecisionEvent,
  type IssueOptions,
  type Need,
} from '../../src/index.js'
import { PEPPER, testClock, type TestClock } from './clock.js'

export { PEPPER }

export interface Harness {
  store: MemoryKeyStore
  manager: KeyManager
  clock: TestClock
  events: DecisionEvent[]
  /** Every plaintext key issued through this harness. */
  issued: string[]
  /** Everything a client or a log could ever see: events, rendered denies, principals, errors. */
  transcript: string[]
  issue(options: IssueOptions): Promise<{ key: string; id: string }>
  authorizer(options?: Partial<AuthorizerOptions>): (request: Partial<AuthRequest>, need?: Need) => Promise<Decision>
}

export function harness(): Harness {
  const store = new MemoryKeyStore()
  const clock = testClock()
  const manager = new KeyManager(store, { pepper: PEPPER, now: clock.now })
  const events: DecisionEvent[] = []
  const issued: string[] = []
  const transcript: string[] = []
  return {
    store,
    manager,
    clock,
    events,
    issued,
    transcript,
    async issue(options) {
      const { key, record } = await manager.issue(options)
      issued.push(key)
      return { key, id: record.id }
    },
    authorizer(options = {}) {
      const a = createAuthorizer({
        store,
        pepper: PEPPER,
        now: clock.now,
        touchIntervalMs: 0,
        ...options,
        onDecision: (e, d) => {
          events.push(e)
          transcript.push(JSON.stringify(e))
          options.onDecision?.(e, d)
        },
      })
      return async (request, need) => {
        const full: AuthRequest = { method: 'GET', url: '/api/scans', headers: {}, remoteAddress: '127.0.0.1', ...request }
        try {
          const d = await a.authorize(full, need)
          transcript.push(JSON.stringify(d.allow ? { ...d, principal: { ...d.principal } } : renderDeny(d)))
          return d
        } catch (e) {
          transcript.push(String(e), (e as Error).stack ?? '')
          throw e
        }
      }
    },
  }
}

/** The deny fields a client sees, for compact assertions. */
export function seen(d: Decision): { status: number; code?: string; reason?: string } {
  return d.allow ? { status: d.status } : { status: d.status, code: d.code, reason: d.reason }
}

export function basicOf(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`
}
