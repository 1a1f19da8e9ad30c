/**
 * The public API as TypeScript sees it, from one program over every entry point's source
 * (values and types alike: a runtime `import()` shows only values, and types are half of the
 * public contract too): the exported names of each entry, and what each fails of the TSDoc rules.
 * One program serves both, since parsing the sources and `@types/node` is most of the cost.
 */
import { join } from 'node:path'
import ts from 'typescript'
import { ROOT } from './_entries.js'

/** One program over `sources`, with the repository's compiler options. */
export function publicProgram(sources: readonly string[]): ts.Program {
  const configPath = join(ROOT, 'tsconfig.json')
  const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p))
  if (read.error !== undefined) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'))
  const { options } = ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT, undefined, configPath)
  return ts.createProgram({ rootNames: [...sources], options })
}

/** The module symbol of `source` in `program`. */
function moduleOf(program: ts.Program, source: string): ts.Symbol {
  const file = program.getSourceFile(source)
  const symbol = file === undefined ? undefined : program.getTypeChecker().getSymbolAtLocation(file)
  if (symbol === undefined) throw new Error(`TypeScript could not load ${source} as a module`)
  return symbol
}

/** Every exported name (value or type) of each source file, sorted. Keyed by absolute path. */
export function declaredExports(program: ts.Program, sources: readonly string[]): Map<string, string[]> {
  const checker = program.getTypeChecker()
  return new Map(sources.map((source) => [source, checker.getExportsOfModule(moduleOf(program, source)).map((s) => s.getName()).sort()]))
}

/**
 * What each source's exports fail of the documentation rules: every export has a TSDoc comment;
 * every exported function and class has an `@example`; every field of an `…Options` interface
 * is documented with an `@example`, and every optional one with its `@default`. Keyed by path.
 */
export function undocumented(program: ts.Program, sources: readonly string[]): Map<string, string[]> {
  const checker = program.getTypeChecker()
  const text = (s: ts.Symbol) => ts.displayPartsToString(s.getDocumentationComment(checker)).trim()
  const found = new Map<string, string[]>()
  for (const source of sources) {
    const problems: string[] = []
    for (let sym of checker.getExportsOfModule(moduleOf(program, source))) {
      const name = sym.getName()
      if (sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym)
      const tags = sym.getJsDocTags(checker).map((t) => t.name)
      if (!text(sym)) problems.push(`${name}: no TSDoc`)
      if (sym.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class) && !tags.includes('example')) problems.push(`${name}: no @example`)
      if (sym.flags & ts.SymbolFlags.Interface && name.endsWith('Options')) {
        for (const p of checker.getDeclaredTypeOfSymbol(sym).getProperties()) {
          const ptags = p.getJsDocTags(checker).map((t) => t.name)
          const field = `${name}.${p.getName()}`
          if (!text(p)) problems.push(`${field}: no TSDoc`)
          if (!ptags.includes('example')) problems.push(`${field}: no @example`)
          if (p.flags & ts.SymbolFlags.Optional && !ptags.includes('default')) problems.push(`${field}: optional without @default`)
        }
      }
    }
    found.set(source, problems)
  }
  return found
}
