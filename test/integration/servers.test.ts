/**
 * The one place that says whether the integration suites ran: a printed line when they are
 * skipped, and a failure under CI=true, where the servers must be there (.ci/servers.sh).
 */
import { describe, expect, it } from 'vitest'
import { CI, pgProblemText, redisProblemText } from './_env.js'

const problems = [pgProblemText, redisProblemText].filter((p): p is string => p !== undefined)
if (problems.length > 0 && !CI) {
  console.warn(`integration tests skipped: ${problems.join('; ')}. Start servers with: bash .ci/servers.sh start && eval "$(bash .ci/servers.sh env)"`)
}

describe('integration servers', () => {
  it.runIf(CI)('are reachable in CI (PostgreSQL and Redis)', () => {
    expect(problems, 'CI must run the integration tests against real servers').toEqual([])
  })
})
