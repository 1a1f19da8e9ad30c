/**
 * "Are the types wrong?" (@arethetypeswrong/cli) on the packed tarball, every resolution mode
 * (node10, node16 from CJS, node16 from ESM, bundler), with an explicit list of accepted
 * problems instead of a blanket profile or `--ignore-rules`.
 */
import { spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { ROOT } from './_entries.js'

/** One problem as attw's JSON report lists it (`analysis.problems`). */
export interface AttwProblem {
  readonly kind: string
  readonly entrypoint?: string
  readonly resolutionKind?: string
  readonly [more: string]: unknown
}

/** What the test needs from attw's report. */
export interface AttwReport {
  /** Every problem found, unfiltered. */
  readonly problems: readonly AttwProblem[]
  /** The entry points attw analysed (`.`, `./express`, …). */
  readonly entrypoints: readonly string[]
}

const CLI = join(ROOT, 'node_modules/@arethetypeswrong/cli/dist/index.js')

/**
 * Runs a command with its stdout written to a file, then read back. attw exits with
 * `process.exit(1)` when it finds any problem (accepted ones too), and a process that exits so
 * loses what it has not yet flushed to a pipe: the report, over 128 KiB with every entry point,
 * arrived cut. Writes to a file are synchronous, so the file holds all of it.
 */
function toFile(command: string, args: readonly string[], cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-attw-'))
  const out = join(dir, 'stdout.json')
  const fd = openSync(out, 'w')
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', fd, 'pipe'] })
    let stderr = ''
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (status) => {
      closeSync(fd)
      const stdout = readFileSync(out, 'utf8')
      rmSync(dir, { recursive: true, force: true })
      resolve({ status, stdout, stderr })
    })
  })
}

/**
 * Runs attw on a tarball. `--no-definitely-typed` keeps it offline (it would otherwise look up
 * `@types/keyward` on the registry). It runs in the tarball's directory so that no `.attw.json`
 * changes what is checked.
 */
export async function attw(tarball: string): Promise<AttwReport> {
  const r = await toFile(process.execPath, [CLI, tarball, '--format', 'json', '--no-definitely-typed', '--no-color'], dirname(tarball))
  let parsed: { analysis?: { problems?: AttwProblem[]; entrypoints?: Record<string, unknown> } }
  try {
    parsed = JSON.parse(r.stdout) as typeof parsed
  } catch {
    throw new Error(`attw printed no JSON (exit ${r.status})\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`)
  }
  const analysis = parsed.analysis
  if (analysis?.problems === undefined || analysis.entrypoints === undefined) {
    throw new Error(`attw's report has no analysis (exit ${r.status}): ${r.stdout.slice(0, 500)}`)
  }
  return { problems: analysis.problems, entrypoints: Object.keys(analysis.entrypoints) }
}

/**
 * Problems we accept, each for a stated reason. Everything else fails the test.
 *
 * - `NoResolution` of a subpath (not the root) under `node10`: TypeScript's `node10`
 *   resolution (`moduleResolution: node`) predates package.json `exports` and cannot see
 *   `keyward/express` at all. Serving it would take a `typesVersions` map duplicating
 *   `exports`. The package requires Node ≥ 20.19, whose TypeScript users resolve with `node16`,
 *   `nodenext` or `bundler` (all checked, and all must pass); the root entry still resolves
 *   under `node10` through `main`/`types`, and that is not excused.
 */
export function acceptedAttwProblems(problem: AttwProblem): boolean {
  return problem.kind === 'NoResolution' && problem.resolutionKind === 'node10' && problem.entrypoint !== '.'
}
