/**
 * The order test files start in. Vitest starts the files it knows to be slow first, but a fresh
 * clone has no record of durations, so it starts the largest files first and the two Redis fault
 * files (each waiting out a 30-second hang) came last, leaving both cores idle for most of a
 * minute at the end of the run. The files listed here start first, in this order, on every
 * machine: the ones that mostly wait, then the ones that cost the most CPU, then the other slow
 * ones. The rest keep Vitest's order (slowest first when known, else largest first). A listed
 * file that no longer exists is simply never matched.
 */
import { relative } from 'node:path'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

const FIRST = [
  'test/integration/redis-faults-worker.test.ts',
  'test/integration/redis-faults-thread.test.ts',
  'test/types/typecheck.test.ts',
  'test/package/package.test.ts',
  'test/integration/multi-instance.test.ts',
  'test/load/adapters-load.test.ts',
  'test/integration/redis-hostile.test.ts',
  'test/testing/jest.test.ts',
  // Then the rest of the files that took over 5 s in a CI run, longest first.
  'test/testing/readme.test.ts',
  'test/admin/browser.test.ts',
  'test/adapters/demo-serve.test.ts',
  'test/integration/redis-invalidation.test.ts',
  'test/admin/operator.browser.test.ts',
  'test/adapters/quickstart.test.ts',
  'test/adapters/isolation.test.ts',
  'test/integration/revoke-race-redis.test.ts',
  'test/package/exports.test.ts',
  'test/resilience/revoke-race.property.test.ts',
  'test/adapters/examples.test.ts',
  'test/adapters/admin-readme.test.ts',
  'test/adapters/migrate.test.ts',
  'test/integration/credits-stores.test.ts',
  'test/cli/process.test.ts',
  'test/net/oracle.test.ts',
]

export default class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    const rank = (spec: TestSpecification): number => {
      const i = FIRST.indexOf(relative(spec.project.config.root, spec.moduleId).split('\\').join('/'))
      return i === -1 ? FIRST.length : i
    }
    // Projects run one after the other, in Vitest's order; only the order within each changes.
    const byProject = new Map<string, TestSpecification[]>()
    for (const spec of sorted) {
      const list = byProject.get(spec.project.name)
      if (list === undefined) byProject.set(spec.project.name, [spec])
      else list.push(spec)
    }
    return [...byProject.values()].flatMap((list) => list.map((spec, i) => ({ spec, i })).sort((a, b) => rank(a.spec) - rank(b.spec) || a.i - b.i).map(({ spec }) => spec))
  }
}
