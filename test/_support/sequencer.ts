/**
 * The order test files start in. Vitest starts the files it knows to be slow first, but a fresh
 * clone has no record of durations, so it starts the largest files first and the two Redis fault
 * files (each waiting out a 30-second hang) came last, leaving both cores idle for most of a
 * minute at the end of the run. The files listed here start first, in this order, on every
 * machine: the ones that mostly wait, then the ones that cost the most CPU. The rest keep Vitest's
 * order (slowest first when known, else largest first).
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
