/**
 * `npm run bench`: runs every benchmark section, prints one markdown report and writes it to
 * `bench/.out/RESULTS.md` (untracked), so a run never changes the checkout. `npm run bench --
 * --write` writes the committed `bench/RESULTS.md` instead, for a deliberate update of the
 * published numbers.
 *
 * A section is a module in this folder that exports `run(): Promise<BenchSection>` (see
 * {@link BenchSection}). `core.ts` and `guards.ts` (each adapter's guard in process) always run;
 * `http.ts` runs too when the file exists. Sections run one after the other, never concurrently, so they do not
 * steal each other's CPU on these 2-core machines.
 *
 * Numbers are measured, not asserted: nothing here fails on a slow result. Quote ratios from one
 * run (the machine's load shifts absolute numbers between runs; the load average is printed).
 * @module
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** What a section module's `run()` resolves to. */
export interface BenchSection {
  /** Heading of the section, e.g. `Core: authorize()`. */
  readonly title: string
  /** A markdown table (header, separator and rows), printed as is. */
  readonly table: string
  /** Lines printed under the table: setup, skipped rows and why, caveats. */
  readonly notes?: readonly string[]
}

/**
 * The contract of a section module (`bench/core.ts`, `bench/http.ts`).
 * @example
 * ```ts
 * // bench/http.ts
 * import type { BenchSection } from './run.js'
 * export async function run(): Promise<BenchSection> {
 *   return { title: 'HTTP: adapters', table: '| case | µs |\n|---|---|\n| koa | 12 |', notes: [] }
 * }
 * ```
 */
export interface BenchSectionModule {
  run(): Promise<BenchSection>
}

/** Machine and runtime facts printed above the results. */
export function machineInfo(): string[] {
  const cpus = os.cpus()
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' / ')
  return [
    `- date: ${new Date().toISOString()}`,
    `- node: ${process.version} (${process.platform} ${process.arch}), run via ${process.execArgv.some((a) => a.includes('tsx')) || process.argv.some((a) => a.includes('tsx')) ? 'tsx' : 'node'}`,
    `- cpu: ${cpus[0]?.model.trim() ?? 'unknown'} × ${cpus.length}`,
    `- load average at start (1/5/15 min): ${load}`,
  ]
}

/**
 * Where a run's report goes: the untracked `bench/.out/RESULTS.md`, or with `--write` the
 * committed `bench/RESULTS.md`. A plain run never changes the checkout.
 */
export function resultsFile(argv: readonly string[]): URL {
  return new URL(argv.includes('--write') ? './RESULTS.md' : './.out/RESULTS.md', import.meta.url)
}

function render(sections: readonly BenchSection[], info: readonly string[]): string {
  const out = ['# keyward benchmarks', '', ...info, '']
  for (const s of sections) {
    out.push(`## ${s.title}`, '', s.table, '')
    if (s.notes && s.notes.length > 0) out.push(...s.notes.map((n) => `- ${n}`), '')
  }
  return out.join('\n')
}

async function main(): Promise<void> {
  const info = machineInfo()
  const sections: BenchSection[] = []
  const core = (await import('./core.js')) as BenchSectionModule
  sections.push(await core.run())
  const guards = (await import('./guards.js')) as BenchSectionModule
  sections.push(await guards.run())
  if (existsSync(fileURLToPath(new URL('./http.ts', import.meta.url)))) {
    const http = (await import(new URL('./http.ts', import.meta.url).href)) as Partial<BenchSectionModule>
    if (typeof http.run !== 'function') throw new TypeError('bench/http.ts must export run(): Promise<BenchSection>')
    sections.push(await http.run())
  }
  const md = render(sections, info)
  process.stdout.write(`${md}\n`)
  const target = resultsFile(process.argv.slice(2))
  mkdirSync(new URL('.', target), { recursive: true })
  writeFileSync(target, md)
  process.stderr.write(`bench: written to ${fileURLToPath(target)}\n`)
}

// Only when run as the entry point, so a section may import this module's types and helpers.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main()
}
