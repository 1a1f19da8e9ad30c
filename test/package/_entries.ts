/**
 * The package's public entry points, derived from the two places that define them: the tsup
 * entries (what is built) and package.json `exports` (what consumers may import). Nothing here
 * is a hand-kept list, so an entry point added later is picked up by every package test.
 */
import { existsSync, readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Entries that tsup builds but that are not import subpaths: the CLI, and the invalidation bus's worker (loaded by file, next to keyward/redis). */
const NOT_SUBPATHS = new Set(['cli', 'bus-worker'])

/** One `exports` condition set: `{ import: { types, default }, require: { types, default } }`. */
export interface ExportTarget {
  readonly import?: { readonly types?: string; readonly default?: string }
  readonly require?: { readonly types?: string; readonly default?: string }
}

/** A public entry point. */
export interface Entry {
  /** The `exports` key: `.` or `./express`. */
  readonly subpath: string
  /** What a consumer writes: `keyward` or `keyward/express`. */
  readonly specifier: string
  /** The tsup entry name (`index`, `express`): the dist file's base name. */
  readonly name: string
  /** Absolute path of the source file, when tsup builds this entry. */
  readonly source?: string
  /** The `exports` conditions, when package.json exports this entry. */
  readonly target?: ExportTarget
}

interface PackageJson {
  readonly name: string
  readonly version: string
  readonly exports?: Record<string, ExportTarget | string>
  readonly dependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly devDependencies?: Record<string, string>
  readonly bin?: Record<string, string>
  readonly scripts?: Record<string, string>
}

/** The repository's package.json, read fresh. */
export function packageJson(): PackageJson {
  return JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson
}

type EntryOption = string | readonly string[] | Record<string, string> | undefined

/** tsup `entry` in any of its forms, to `name → source`. */
function entryMap(entry: EntryOption): Record<string, string> {
  if (entry === undefined) return {}
  if (typeof entry === 'string') return { [basename(entry).replace(/\.[cm]?tsx?$/, '')]: entry }
  if (Array.isArray(entry)) return Object.fromEntries(entry.map((e: string) => [basename(e).replace(/\.[cm]?tsx?$/, ''), e]))
  return entry as Record<string, string>
}

/**
 * The entries tsup builds (`name → absolute source path`), read from tsup.config.ts itself. The
 * config filters out entries whose source does not exist yet, so this is what `npm run build`
 * emits today. Handles an object, an array of configs and a config function.
 */
export async function tsupEntries(): Promise<Record<string, string>> {
  const mod = (await import(join(ROOT, 'tsup.config.ts'))) as { default: unknown }
  let config = mod.default
  if (typeof config === 'function') config = await (config as (o: object) => unknown)({})
  const configs = (Array.isArray(config) ? config : [config]) as { entry?: EntryOption }[]
  const out: Record<string, string> = {}
  for (const c of configs) {
    for (const [name, file] of Object.entries(entryMap(c.entry))) {
      const abs = join(ROOT, file)
      // tsup.config.ts filters by existence today; filter again in case that changes.
      if (existsSync(abs)) out[name] = abs
    }
  }
  return out
}

function subpathOf(name: string): string {
  return name === 'index' ? '.' : `./${name}`
}

/** The dist base name an `exports` target points at (`./dist/express.js` → `express`). */
function nameOf(subpath: string, target: ExportTarget | string): string {
  const file = typeof target === 'string' ? target : (target.import?.default ?? target.require?.default)
  const m = file === undefined ? null : /^\.\/dist\/([^/]+)\.(?:c|m)?js$/.exec(file)
  if (m === null) throw new Error(`package.json exports["${subpath}"] does not point at ./dist/<name>.js`)
  return m[1]!
}

/**
 * Every public entry point: the union of tsup's non-CLI entries and package.json's `exports`
 * (minus `./package.json`), sorted by subpath. An entry in only one of the two is still listed,
 * with `source` or `target` missing, so the tests can name the gap instead of skipping it.
 */
export async function publicEntries(): Promise<Entry[]> {
  const built = await tsupEntries()
  const exported = packageJson().exports ?? {}
  const byName = new Map<string, { source?: string; target?: ExportTarget; subpath: string }>()
  for (const [name, source] of Object.entries(built)) {
    if (!NOT_SUBPATHS.has(name)) byName.set(name, { subpath: subpathOf(name), source })
  }
  for (const [subpath, target] of Object.entries(exported)) {
    if (subpath === './package.json') continue
    const name = nameOf(subpath, target)
    const seen = byName.get(name) ?? { subpath }
    byName.set(name, { ...seen, subpath, target: typeof target === 'string' ? { import: { default: target } } : target })
  }
  const pkgName = packageJson().name
  return [...byName.entries()]
    .map(([name, e]) => ({
      name,
      subpath: e.subpath,
      specifier: e.subpath === '.' ? pkgName : `${pkgName}/${e.subpath.slice(2)}`,
      ...(e.source === undefined ? {} : { source: e.source }),
      ...(e.target === undefined ? {} : { target: e.target }),
    }))
    .sort((a, b) => a.subpath.localeCompare(b.subpath))
}
