/**
 * Documentation is part of the public API: every export of every entry point has a TSDoc
 * comment; every exported function and class has an `@example`; every field of an `…Options`
 * interface is documented with an `@example`, and every optional one with its `@default`.
 */
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { publicEntries } from './_entries.js'

const entries = (await publicEntries()).filter((e): e is typeof e & { source: string } => e.source !== undefined)

function audit(): Map<string, string[]> {
  const program = ts.createProgram(
    entries.map((e) => e.source),
    { strict: true, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ES2022, skipLibCheck: true, noEmit: true },
  )
  const checker = program.getTypeChecker()
  const found = new Map<string, string[]>()
  for (const entry of entries) {
    const problems: string[] = []
    const sf = program.getSourceFile(entry.source)
    const mod = sf && checker.getSymbolAtLocation(sf)
    if (!mod) throw new Error(`cannot read ${entry.source}`)
    for (let sym of checker.getExportsOfModule(mod)) {
      const name = sym.getName()
      if (sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym)
      const tags = sym.getJsDocTags(checker).map((t) => t.name)
      if (!ts.displayPartsToString(sym.getDocumentationComment(checker)).trim()) problems.push(`${name}: no TSDoc`)
      if (sym.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class) && !tags.includes('example')) problems.push(`${name}: no @example`)
      if (sym.flags & ts.SymbolFlags.Interface && name.endsWith('Options')) {
        for (const p of checker.getDeclaredTypeOfSymbol(sym).getProperties()) {
          const ptags = p.getJsDocTags(checker).map((t) => t.name)
          const field = `${name}.${p.getName()}`
          if (!ts.displayPartsToString(p.getDocumentationComment(checker)).trim()) problems.push(`${field}: no TSDoc`)
          if (!ptags.includes('example')) problems.push(`${field}: no @example`)
          if (p.flags & ts.SymbolFlags.Optional && !ptags.includes('default')) problems.push(`${field}: optional without @default`)
        }
      }
    }
    found.set(entry.subpath, problems)
  }
  return found
}

describe('TSDoc of the public API', () => {
  const problems = audit()
  it.each(entries.map((e) => e.subpath))('documents every export of %s', (subpath) => {
    expect(problems.get(subpath)).toEqual([])
  })

  it('audits something (the check is not vacuous)', () => {
    expect(entries.length).toBeGreaterThanOrEqual(8)
  })
})
