/**
 * `npm run bench`: runs every benchmark section, prints one markdown report and writes it to
 * `bench/.out/RESULTS.md` (untracked), so a run never changes the checkout. `npm run bench --
 * --write` writes the committed `bench/RESULTS.md` instead, for a deliberate update of the
 * published numbers.
 *
 * A section is a module in this folder that exports `run(): Promise<BenchSection>` (see
 * {@link BenchSection}): `core.ts`, `guards.ts` (each adapter's guard in process), `http.ts` (each
 * framework over loopback with `wrk`) and `attribution.ts` (where the guard's µs go, over HTTP
 * and in process). `npm run bench -- attribution` (or any section names) runs only those.
 * Sections run one after the other, never concurrently, so they do not steal each other's CPU on
 * these 2-core machines.
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

/** Every section, in the order a full run prints them. */
export const SECTIONS = ['core', 'guards', 'http', 'attribution'] as const
type SectionName = (typeof SECTIONS)[number]

/**
 * The sections named on the command line (`npm run bench -- attribution`), or all of them. A
 * partial run never writes the committed `bench/RESULTS.md`: `--write` takes the full run.
 */
export function sectionsOf(argv: readonly string[]): readonly SectionName[] {
  const named = argv.filter((a) => !a.startsWith('--'))
  const unknown = named.filter((n) => !(SECTIONS as readonly string[]).includes(n))
  if (unknown.length > 0) throw new RangeError(`bench: unknown section ${unknown.join(', ')} (known: ${SECTIONS.join(', ')})`)
  if (named.length === 0) return SECTIONS
  if (argv.includes('--write')) throw new RangeError('bench: --write updates bench/RESULTS.md from a full run; drop the section names')
  return SECTIONS.filter((s) => named.includes(s))
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  const wanted = sectionsOf(argv)
  const info = machineInfo()
  const sections: BenchSection[] = []
  for (const name of wanted) {
    const url = new URL(`./${name}.ts`, import.meta.url)
    // http.ts and attribution.ts need wrk at run time, not this file: a checkout without them still runs the rest.
    if (!existsSync(fileURLToPath(url))) continue
    const mod = (await import(url.href)) as Partial<BenchSectionModule>
    if (typeof mod.run !== 'function') throw new TypeError(`bench/${name}.ts must export run(): Promise<BenchSection>`)
    sections.push(await mod.run())
  }
  const md = render(sections, info)
  process.stdout.write(`${md}\n`)
  const target = resultsFile(argv)
  mkdirSync(new URL('.', target), { recursive: true })
  writeFileSync(target, md)
  process.stderr.write(`bench: written to ${fileURLToPath(target)}\n`)
}

// Only when run as the entry point, so a section may import this module's types and helpers.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main()
}
