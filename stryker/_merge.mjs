/**
 * Merging two mutation-testing reports (the mutation-testing-report-schema JSON that Stryker
 * keeps as its incremental file) into one.
 *
 * Test ids are only unique within one report: every run numbers its tests from "0". So a test of
 * the older report is matched to the newer report's test of the same file and name, or given a
 * fresh id, and the older mutants' `coveredBy` and `killedBy` are rewritten to the merged ids.
 * Without that, an older mutant would name whatever test of the newer run happens to hold its id.
 */
import { existsSync } from 'node:fs'

/**
 * The newer report, plus the older report's files (and their tests) that `keep` accepts and the
 * newer report lacks.
 * @param {object | undefined} older
 * @param {object} newer
 * @param {(path: string) => boolean} [keep] whether a file of the older report still belongs
 */
export function mergeReports(older, newer, keep = existsSync) {
  if (older === undefined) return newer
  const testFiles = structuredClone(newer.testFiles ?? {})
  const idOf = new Map()
  const used = new Set()
  for (const [path, tf] of Object.entries(testFiles)) {
    for (const t of tf.tests) {
      idOf.set(`${path}\0${t.name}`, t.id)
      used.add(t.id)
    }
  }
  let n = 0
  const fresh = () => {
    while (used.has(`m${n}`)) n++
    used.add(`m${n}`)
    return `m${n}`
  }
  const remap = new Map()
  for (const [path, tf] of Object.entries(older.testFiles ?? {})) {
    if (path !== '' && !keep(path)) continue
    for (const t of tf.tests) {
      const key = `${path}\0${t.name}`
      let id = idOf.get(key)
      if (id === undefined) {
        id = fresh()
        idOf.set(key, id)
        testFiles[path] ??= { ...tf, tests: [] }
        testFiles[path].tests.push({ ...t, id })
      }
      remap.set(t.id, id)
    }
  }
  const ids = (list) => list?.flatMap((id) => (remap.has(id) ? [remap.get(id)] : []))
  const files = { ...newer.files }
  for (const [path, file] of Object.entries(older.files)) {
    if (Object.hasOwn(files, path) || !keep(path)) continue
    files[path] = {
      ...file,
      mutants: file.mutants.map((m) => ({
        ...m,
        ...(m.coveredBy === undefined ? {} : { coveredBy: ids(m.coveredBy) }),
        ...(m.killedBy === undefined ? {} : { killedBy: ids(m.killedBy) }),
      })),
    }
  }
  return { ...newer, files, testFiles }
}
