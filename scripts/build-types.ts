/**
 * The declaration half of `npm run build` (scripts/build.ts runs it alongside tsup's JavaScript):
 * TypeScript writes one `.d.ts` per source reached from the entries of tsup.config.ts, then
 * rollup-plugin-dts bundles them per entry into `dist/<entry>.d.ts` (for `import`) and
 * `dist/<entry>.d.cts` (for `require`), with shared chunks, as tsup's own `dts` option did.
 *
 * Why not tsup's `dts`: it hands TypeScript sources to rollup-plugin-dts, which asks the compiler
 * for one file's declarations at a time with `noEmitOnError`, about 54 s of CPU on 2 cores for
 * this package, where one compiler pass over the same files and a bundle of its `.d.ts` output
 * take about 34 s. The output is the same declarations (compared file by file when this replaced
 * tsup's step; only the chunks' hashed names differ). A type error in `src/` fails the build, as
 * it did.
 *
 * rollup-plugin-dts is pinned to 6.1.1, the version inside tsup 8, so that the shipped declarations
 * stay what they were. Later versions import a shared type from the public entry that exports it
 * rather than from a chunk: a change to the package's types, to make on its own and test as one.
 */
import { existsSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { rollup } from 'rollup'
import { dts } from 'rollup-plugin-dts'
import ts from 'typescript'

/** The built package's declarations from `root`'s sources, written into `root/dist`. */
export interface TypesBuild {
  /** Entry name → source file (tsup.config.ts `entry`). */
  readonly entries: Readonly<Record<string, string>>
  /** Package names whose imports stay imports (dependencies and peer dependencies). */
  readonly external: readonly string[]
}

/**
 * Type-checks the entries' sources and writes their declarations under `outDir`, one per source.
 * Returns the compiler's errors, formatted; empty when there are none.
 */
export function emitDeclarations(root: string, sources: readonly string[], outDir: string): string {
  const configFile = join(root, 'tsconfig.json')
  if (!existsSync(configFile)) return `no tsconfig.json in ${root}`
  const parsed = ts.getParsedCommandLineOfConfigFile(configFile, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })
  if (parsed === undefined) return `cannot read ${configFile}`
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    declarationMap: false,
    rootDir: join(root, 'src'),
    outDir,
  }
  const program = ts.createProgram({ rootNames: sources.map((s) => resolve(root, s)), options })
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...program.emit().diagnostics]
  const host: ts.FormatDiagnosticsHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }
  return ts.formatDiagnostics(diagnostics, host)
}

/** Bundles the declarations under `declDir` into `root/dist`, per entry, for both module formats. */
export async function bundleDeclarations(root: string, build: TypesBuild, declDir: string): Promise<void> {
  const input = Object.fromEntries(
    Object.entries(build.entries).map(([name, source]) => [name, join(declDir, relative('src', source).replace(/\.ts$/, '.d.ts'))]),
  )
  const packages = build.external.map((p) => new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|/)`))
  const bundle = await rollup({
    input,
    external: (id) => id.startsWith('node:') || packages.some((p) => p.test(id)),
    plugins: [dts()],
    // The declarations import each other in cycles (types only); rollup bundles them as usual.
    onwarn: (w, warn) => (w.code === 'CIRCULAR_DEPENDENCY' ? undefined : warn(w)),
  })
  try {
    for (const ext of ['.d.ts', '.d.cts']) {
      await bundle.write({
        dir: join(root, 'dist'),
        format: 'es',
        entryFileNames: `[name]${ext}`,
        // A chunk is named for its first module, `types.d.ts` here; the name keeps the `types`.
        chunkFileNames: (chunk) => `${chunk.name.replace(/\.d$/, '')}-[hash]${ext}`,
      })
    }
  } finally {
    await bundle.close()
  }
}
