/**
 * Exported names of source modules as TypeScript sees them: values and types alike. A runtime
 * `import()` shows only values; types are half of the public contract too.
 */
import { join } from 'node:path'
import ts from 'typescript'
import { ROOT } from './_entries.js'

/** Every exported name (value or type) of each source file, sorted. Keyed by absolute path. */
export function declaredExports(sources: readonly string[]): Map<string, string[]> {
  const configPath = join(ROOT, 'tsconfig.json')
  const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p))
  if (read.error !== undefined) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'))
  const { options } = ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT, undefined, configPath)
  const program = ts.createProgram({ rootNames: [...sources], options })
  const checker = program.getTypeChecker()
  const out = new Map<string, string[]>()
  for (const source of sources) {
    const file = program.getSourceFile(source)
    const symbol = file === undefined ? undefined : checker.getSymbolAtLocation(file)
    if (symbol === undefined) throw new Error(`TypeScript could not load ${source} as a module`)
    out.set(source, checker.getExportsOfModule(symbol).map((s) => s.getName()).sort())
  }
  return out
}
