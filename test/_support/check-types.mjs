// Type-checks projects against keyward's built declarations, in one process: for each `tsconfig`
// named on the command line, the program tsc would build, and the diagnostics tsc would report for
// the project's own files and for keyward's declarations where a project checks them
// (`skipLibCheck: false`). Other packages' declarations (lib.*.d.ts, @types/node, the peers) are
// part of each program, so every type they give is checked where it is used, but their own
// insides are not checked: they are not ours to fix, and checking them was most of the time of a
// tsc run. Parsed files are shared between the programs (keyed by path and options, as tsc -b
// does), so the second program of a run parses little beyond its own files.
//
// Used by the package test (consumers of the installed tarball) and by the shared type-check of
// the snippets and type-level tests (`typecheck.ts`, against dist/).
//
// Usage: node check-types.mjs <dir> <tsconfig>...   Prints JSON: { [tsconfig]: { files, diagnostics } }.
import { createRequire } from 'node:module'
import { resolve } from 'node:path'

const [dir, ...projects] = process.argv.slice(2)
// The repository's TypeScript, as the consumer has none.
const ts = createRequire(import.meta.url)('typescript')
const cache = new Map()
const report = {}
for (const project of projects) {
  const configPath = resolve(dir, project)
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')) } })
  const host = ts.createCompilerHost(parsed.options)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (fileName, languageVersionOrOptions, ...rest) => {
    const key = `${fileName}\0${JSON.stringify(languageVersionOrOptions)}`
    if (!cache.has(key)) cache.set(key, getSourceFile(fileName, languageVersionOrOptions, ...rest))
    return cache.get(key)
  }
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options, host, configFileParsingDiagnostics: parsed.errors })
  const ours = (sf) => parsed.fileNames.includes(sf.fileName) || /[\\/]node_modules[\\/]keyward[\\/]/.test(sf.fileName)
  const diagnostics = [
    ...program.getConfigFileParsingDiagnostics(),
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...program.getSourceFiles().filter(ours).flatMap((sf) => [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]),
  ]
  const formatHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => resolve(dir), getNewLine: () => '\n' }
  report[project] = {
    files: program.getSourceFiles().map((sf) => resolve(sf.fileName)),
    diagnostics: diagnostics.map((d) => ts.formatDiagnostic(d, formatHost).trimEnd()),
  }
}
process.stdout.write(JSON.stringify(report))
